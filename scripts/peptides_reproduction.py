"""Hemolytic-peptide rows of the reproduction table."""
from xairepro.experiments.peptides.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows(read_json(sm.input.metrics), read_json(sm.input.summary), sm.params.scale)
write_reproduction_rows(rows, sm.output.table)
