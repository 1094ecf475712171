"""Full-data pyridine model: PR curves of the four gradient methods on the validation pyridine
molecules (paper Fig. 1), per-atom scores, the example maps (Fig. 2) and the metric's bounds."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import (pyridine_atom_table, pyridine_attributions, pyridine_evaluation_set,
                                        pyridine_examples, ranking_bounds)
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import load_checkpoint, resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
device = resolve_device(sm.params.device)
graphs, truth = pyridine_evaluation_set(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits))
model, _ = load_checkpoint(sm.input.model, device)
summary, curves, scores = pyridine_attributions(model, graphs, truth, sm.params.cfg, sm.params.seed,
                                                sm.params.max_batch, device)
summary.to_csv(sm.output.prcauc, index=False)
curves.to_csv(sm.output.curves, index=False)
pyridine_atom_table(graphs, truth, scores).to_csv(sm.output.atoms, index=False)
write_json(pyridine_examples(graphs, truth, scores, sm.params.cfg["n_examples"], sm.params.seed), sm.output.examples)
write_json(ranking_bounds(graphs, truth, sm.params.cfg, sm.params.seed), sm.output.bounds)
log.info("%d validation pyridine molecules; PRC-AUC:\n%s", len(graphs), summary.to_string())
