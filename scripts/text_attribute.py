"""Word attributions of every method of text.attribution.methods; IG completeness, saturation, Figs 9-10,
per-word spread of the sampled methods."""
from xairepro.context import RunContext
from xairepro.experiments.text.attributions import save_scores, word_attribution_study
from xairepro.experiments.text.data import TextInputs, load_cache
from xairepro.runtime import script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = word_attribution_study(TextInputs(model, load_cache(sm.input.cache)), sm.params.cfg, ctx=ctx)
save_scores(out, sm.output.scores)
for key in ("completeness", "path", "saturation"):
    out[key].to_csv(sm.output[key], index=False)
write_json(out["table"], sm.output.table)
write_json(out["spread_examples"], sm.output.spread)
write_json(out["summary"], sm.output.summary)
