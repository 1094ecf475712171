"""The mask seeds table: one row per (fitting target, mask seed)."""
from xairepro.experiments.smiles2vec.seeds import seeds_table
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
table = seeds_table([read_json(p) for p in sm.input.metrics])
log.info("mask seeds:\n%s", table.to_string())
table.to_csv(sm.output.table, index=False)
