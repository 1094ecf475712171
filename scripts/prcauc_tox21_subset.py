"""PRC-AUC of every method (and SmoothGrad sigma) for one Table 1 model."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import pyridine_attributions, pyridine_evaluation_set, subset_seed
from xairepro.runtime import read_json, script_setup
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
k = int(sm.wildcards.seed)
graphs, truth = pyridine_evaluation_set(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits))
model, _ = load_checkpoint(sm.input.model, device)
summary, curves, _ = pyridine_attributions(model, graphs, truth, sm.params.cfg, subset_seed(sm.params.seed, k),
                                           sm.params.max_batch, device)
for frame, path in ((summary, sm.output.prcauc), (curves, sm.output.curves)):
    frame.insert(0, "seed", k)
    frame.to_csv(path, index=False)
log.info("model %d:\n%s", k, summary.to_string())
