"""PRC-AUC of every method (and SmoothGrad sigma) for one Table 1 model."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.data import pyridine_evaluation_set
from xairepro.experiments.tox21.pyridine import pyridine_study
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
k = int(sm.wildcards.seed)
ctx = RunContext.from_params(sm.params.run).child(k)
graphs, truth = pyridine_evaluation_set(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits))
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
result = pyridine_study({"model": model, "graphs": graphs, "truth": truth}, sm.params.cfg, ctx=ctx)
for frame, path in ((result.summary, sm.output.prcauc), (result.curves, sm.output.curves)):
    frame.insert(0, "seed", k)
    frame.to_csv(path, index=False)
log.info("model %d:\n%s", k, result.summary.to_string())
