"""The leaderboard protocol over atoms for every method of tox21.faithfulness.methods on one Table 1
subset model (its seed = the replicate), on the validation pyridine molecules: per-example
deletion/insertion rows, curves, summary, the methods that cannot apply with the reason, the
model-randomisation check, the uncertainty's informativeness and the cost per method."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.faithfulness import faithfulness_study
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
k = int(sm.wildcards.seed)
root = RunContext.from_params(sm.params.run)
ctx = root.child(k)
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
inputs = {"model": model, "graphs": load_graphs(sm.input.graphs).graphs, "splits": read_json(sm.input.splits),
          "model_name": sm.params.model_name, "replicate": k, "subset_size": sm.params.subset_size, "seed": root.seed}
result = faithfulness_study(inputs, sm.params.cfg, ctx=ctx)
for kind, table in result.tables().items():
    table.to_csv(getattr(sm.output, kind), index=False)
log.info("model %d:\n%s", k, result.summary.to_string())
for method, reason in result.skipped[["method", "reason"]].itertuples(index=False):
    log.info("not applicable: %s (%s)", method, reason)
