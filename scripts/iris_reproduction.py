"""Iris rows of the reproduction table."""
import pandas as pd

from xairepro.experiments.iris.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
write_reproduction_rows(reproduction_rows(pd.read_csv(sm.input.agreement), sm.params.scale), sm.output.table)
