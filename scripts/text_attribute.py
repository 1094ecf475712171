"""Word attributions (IG, gradient, SmoothGrad, BayesGrad, occlusion), completeness, saturation."""
from xairepro.context import RunContext
from xairepro.experiments.text.attributions import save_scores, word_attributions
from xairepro.experiments.text.data import load_cache
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = word_attributions(model, load_cache(sm.input.cache), sm.params.cfg, ctx=ctx)
save_scores(out, sm.output.scores)
for key in ("completeness", "path", "saturation"):
    out[key].to_csv(sm.output[key], index=False)
write_json(out["table"], sm.output.table)
write_json(out["summary"], sm.output.summary)
