"""The faithfulness protocol on CIFAR-10 pixels (counterfactuals 2.5): every configured method's pixel-ablation
AOPC, the methods that did not apply, the randomisation check, the uncertainty and the cost."""
from xairepro.context import RunContext
from xairepro.experiments.vision.aopc import run_aopc
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
out = run_aopc(sm.input.cache, sm.input.classifier, sm.input.dropout, sm.input.mask, sm.params.cfg,
               ctx=RunContext.from_params(sm.params.run), replicate=sm.params.replicate)
for table in ("per_example", "skipped", "curves", "summary", "sanity", "uncertainty", "cost", "bounds"):
    out[table].to_csv(getattr(sm.output, table), index=False)
write_json(out["stats"], sm.output.stats)
log.info("\n%s", out["summary"].to_string())
if len(out["skipped"]):
    log.info("methods that did not apply:\n%s", out["skipped"].to_string())
