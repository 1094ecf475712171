"""Full-data pyridine model: PR curves of the methods of tox21.attribution.methods on the validation
pyridine molecules (paper Fig. 1), per-atom scores, the example maps (Fig. 2) and the metric's bounds."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.data import pyridine_evaluation_set
from xairepro.experiments.tox21.pyridine import pyridine_atom_table, pyridine_examples, pyridine_study, ranking_bounds
from xairepro.runtime import read_json, script_setup, write_json
from xairepro.training import load_checkpoint

sm = snakemake  # noqa: F821
log = script_setup(sm)
ctx, cfg = RunContext.from_params(sm.params.run), sm.params.cfg
graphs, truth = pyridine_evaluation_set(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits))
model, _ = load_checkpoint(sm.input.model, ctx.torch_device)
result = pyridine_study({"model": model, "graphs": graphs, "truth": truth}, cfg, ctx=ctx)
result.summary.to_csv(sm.output.prcauc, index=False)
result.curves.to_csv(sm.output.curves, index=False)
pyridine_atom_table(graphs, truth, result).to_csv(sm.output.atoms, index=False)
write_json(pyridine_examples(graphs, truth, result, cfg["n_examples"], ctx.seed), sm.output.examples)
write_json(ranking_bounds(graphs, truth, cfg, ctx.seed), sm.output.bounds)
log.info("%d validation pyridine molecules; PRC-AUC:\n%s", len(graphs), result.summary.to_string())
