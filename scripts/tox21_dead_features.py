"""The "dead features" check: one- and multi-layer graph convolutions, IG attributions of atoms
with the same type and bond counts."""
from xairepro.context import RunContext
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.dead_features import dead_features_study
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
inputs = {"graphs": load_graphs(sm.input.graphs).graphs, "splits": read_json(sm.input.splits)}
summary, pairs = dead_features_study(inputs, sm.params.cfg, ctx=RunContext.from_params(sm.params.run))
summary.to_csv(sm.output.summary, index=False)
pairs.to_csv(sm.output.pairs, index=False)
log.info("\n%s", summary.to_string())
