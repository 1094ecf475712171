"""Gradient and random-forest feature importance of iris, and how their rankings agree."""
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.importance import importance_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
importance, agreement = importance_study(model, iris_data(), sm.params.attribution, sm.params.forest, ctx=ctx)
log.info("rank agreement:\n%s", agreement.to_string())
importance.to_csv(sm.output.importance, index=False)
agreement.to_csv(sm.output.agreement, index=False)
