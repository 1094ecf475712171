"""Deletion/insertion faithfulness over residues for every configured method."""
from xairepro.context import RunContext
from xairepro.experiments.peptides.data import load_peptides
from xairepro.experiments.peptides.faithfulness import faithfulness_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
data = load_peptides(sm.input.raw, test_fraction=sm.params.data["test_fraction"],
                     val_fraction=sm.params.data["val_fraction"], seed=ctx.seed)
model, _ = load_checkpoint(sm.input.model, ctx.device)
res = faithfulness_study({"model": model, "data": data, "model_name": sm.params.model_name}, sm.params.cfg, ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
res.per_example.to_csv(sm.output.per_example, index=False)
res.curves.to_csv(sm.output.curves, index=False)
res.summary.to_csv(sm.output.summary, index=False)
res.skipped.to_csv(sm.output.skipped, index=False)
