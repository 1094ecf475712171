"""Pixel-ablation AOPC of every configured method with the shared faithfulness metric (counterfactuals 2.5)."""
from xairepro.context import RunContext
from xairepro.experiments.vision.aopc import run_aopc
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
out = run_aopc(sm.input.cache, sm.input.classifier, sm.input.dropout, sm.input.mask, sm.params.cfg,
               ctx=RunContext.from_params(sm.params.run))
out["per_example"].to_csv(sm.output.per_example, index=False)
out["skipped"].to_csv(sm.output.skipped, index=False)
out["curves"].to_csv(sm.output.curves, index=False)
out["summary"].to_csv(sm.output.summary, index=False)
write_json(out["stats"], sm.output.stats)
log.info("\n%s", out["summary"].to_string())
if len(out["skipped"]):
    log.info("methods that did not apply:\n%s", out["skipped"].to_string())
