"""Word deletion/insertion curves and AOPC for every attribution method and the mask."""
from xairepro.context import RunContext
from xairepro.experiments.text.attributions import load_scores
from xairepro.experiments.text.data import load_cache
from xairepro.experiments.text.faithfulness import word_faithfulness
from xairepro.experiments.text.masks import load_mask_net
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
attributions = load_scores(sm.input.scores)
per_example, curves, summary = word_faithfulness(model, load_cache(sm.input.cache), attributions,
                                                 load_mask_net(model, sm.input.head, ctx.device), sm.params.cfg, ctx=ctx)
per_example.to_csv(sm.output.per_example, index=False)
curves.to_csv(sm.output.curves, index=False)
summary.to_csv(sm.output.summary, index=False)
