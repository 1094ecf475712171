"""SMILES2vec rows of the reproduction table."""
import pandas as pd

from xairepro.experiments.smiles2vec.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows(read_json(sm.input.random), read_json(sm.input.scaffold), pd.read_csv(sm.input.seeds),
                         pd.read_csv(sm.input.top3), sm.params.scale)
write_reproduction_rows(rows, sm.output.table)
