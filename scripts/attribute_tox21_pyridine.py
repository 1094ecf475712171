"""Full-data pyridine model: PR curves of the four gradient methods on the validation pyridine
molecules (paper Fig. 1), per-atom scores, the example maps (Fig. 2) and the metric's bounds."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.data import pyridine_evaluation_set
from xairepro.experiments.tox21.pyridine import (pyridine_atom_table, pyridine_attributions, pyridine_examples,
                                                 ranking_bounds)
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx, cfg = RunContext.from_params(sm.params.run), sm.params.attribution
graphs, truth = pyridine_evaluation_set(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits))
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
summary, curves, scores = pyridine_attributions(model, graphs, truth, cfg, ctx=ctx)
summary.to_csv(sm.output.prcauc, index=False)
curves.to_csv(sm.output.curves, index=False)
pyridine_atom_table(graphs, truth, scores).to_csv(sm.output.atoms, index=False)
write_json(pyridine_examples(graphs, truth, scores, cfg["n_examples"], ctx.seed), sm.output.examples)
write_json(ranking_bounds(graphs, truth, cfg, ctx.seed), sm.output.bounds)
log.info("%d validation pyridine molecules; PRC-AUC:\n%s", len(graphs), summary.to_string())
