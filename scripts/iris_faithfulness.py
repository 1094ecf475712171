"""Deletion/insertion faithfulness over the four iris measurements for every configured method."""
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.faithfulness import faithfulness_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
res = faithfulness_study({"model": model, "data": iris_data(), "model_name": sm.params.model_name}, sm.params.cfg,
                         ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
res.per_example.to_csv(sm.output.per_example, index=False)
res.curves.to_csv(sm.output.curves, index=False)
res.summary.to_csv(sm.output.summary, index=False)
res.skipped.to_csv(sm.output.skipped, index=False)
