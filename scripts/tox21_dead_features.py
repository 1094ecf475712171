"""The "dead features" check: one- and multi-layer graph convolutions, IG attributions of atoms
with the same type and bond counts."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21 import dead_features_study
from xairepro.runtime import read_json, script_setup
from xairepro.training import resolve_device

sm = snakemake  # noqa: F821
log = script_setup(sm)
summary, pairs = dead_features_study(load_graphs(sm.input.graphs).graphs, read_json(sm.input.splits), sm.params.cfg,
                                     sm.params.seed, sm.params.max_batch, resolve_device(sm.params.device))
summary.to_csv(sm.output.summary, index=False)
pairs.to_csv(sm.output.pairs, index=False)
log.info("\n%s", summary.to_string())
