"""The leaderboard protocol over the four iris measurements for every method of iris.faithfulness.methods:
per-example rows, curves, summary, the methods that cannot apply with the reason, the
model-randomisation check, the uncertainty's informativeness, the cost per method, and the sampled
methods' per-feature mean and sd of three flowers."""
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.faithfulness import faithfulness_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
model, _ = load_checkpoint(sm.input.model, ctx.device)
res = faithfulness_study({"model": model, "data": iris_data(), "model_name": sm.params.model_name,
                          "replicate": sm.params.replicate}, sm.params.cfg, ctx=ctx)
log.info("faithfulness:\n%s", res.summary.to_string())
for method, reason in zip(res.skipped["method"], res.skipped["reason"]):
    log.warning("%s does not apply: %s", method, reason)
for kind, table in res.tables().items():
    table.to_csv(getattr(sm.output, kind), index=False)
