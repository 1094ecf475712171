"""The leaderboard protocol over atoms for every method of esol.faithfulness.methods, one ESOL model
(its fold models, fold = replicate): per-example deletion/insertion rows, curves, summary, the methods
that cannot apply with the reason, the model-randomisation check, the uncertainty's informativeness and
the cost per method."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.esol.faithfulness import faithfulness_study
from xairepro.runtime import script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx = RunContext.from_params(sm.params.run)
models = [load_checkpoint(p, ctx.torch_device)[0] for p in sm.input.models]
inputs = {"models": models, "graphs": load_graphs(sm.input.graphs).graphs, "model_name": sm.wildcards.model}
result = faithfulness_study(inputs, sm.params.cfg, ctx=ctx)
for kind, table in result.tables().items():
    table.to_csv(getattr(sm.output, kind), index=False)
log.info("\n%s", result.summary.to_string())
for method, reason in result.skipped.drop_duplicates("method")[["method", "reason"]].itertuples(index=False):
    log.info("not applicable: %s (%s)", method, reason)
