"""Feature importance of iris from every configured method and a random forest, and how their
rankings agree."""
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.importance import importance_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
out = importance_study({"model": model, "data": iris_data()}, sm.params.cfg, ctx=ctx)
log.info("rank agreement:\n%s", out.agreement.to_string())
for method, reason in zip(out.skipped["method"], out.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
out.importance.to_csv(sm.output.importance, index=False)
out.agreement.to_csv(sm.output.agreement, index=False)
out.skipped.to_csv(sm.output.skipped, index=False)
