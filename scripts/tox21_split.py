"""The fixed, seeded Tox21 splits: pyridine train/validation and SR-MMP train/validation/test."""
from xairepro.data.featurize import load_graphs
from xairepro.experiments.tox21.data import make_splits
from xairepro.runtime import script_setup, write_json

sm = snakemake  # noqa: F821
log = script_setup(sm)
splits = make_splits(load_graphs(sm.input.graphs).graphs, sm.params.data, sm.params.seed)
write_json(splits, sm.output.splits)
log.info("split sizes: %s", {k: {p: len(v) for p, v in d.items()} for k, d in splits.items() if k != "seed"})
