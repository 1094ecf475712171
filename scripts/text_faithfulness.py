"""The leaderboard protocol over words for every method of text.faithfulness.methods: deletion and
insertion curves, methods that did not apply, sanity check, uncertainty, cost; the further mask
readings as model variants. One classifier (model seed) per job."""
from xairepro.context import RunContext
from xairepro.experiments.text.attributions import load_scores
from xairepro.experiments.text.data import TextInputs, load_cache
from xairepro.experiments.text.faithfulness import review_scores, word_faithfulness_study
from xairepro.experiments.text.masks import load_mask_net
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
masks = {reading: load_mask_net(path, model, ctx.device) for reading, path in zip(sm.params.readings, sm.input.heads)}
inputs = TextInputs(model, load_cache(sm.input.cache), mask_nets=masks, model_name=sm.params.model)
# the attribution study's reviews and samples where it explained this classifier (model seed 0), else
# the job's own seeded reviews
inputs.scores = load_scores(sm.input.scores) if sm.input.get("scores") else \
    review_scores(inputs, sm.params.attribution, sm.params.cfg["n_examples"], ctx=ctx)
out = word_faithfulness_study(inputs, sm.params.cfg, ctx=ctx, replicate=sm.params.replicate)
for key, table in out.tables().items():
    table.to_csv(sm.output[key], index=False)
