"""ESOL rows of the reproduction table, keyed by target id."""
import pandas as pd

from xairepro.experiments.esol.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
metrics = {m: read_json(p) for m, p in zip(sm.params.models, sm.input.metrics)}
environments = {m: pd.read_csv(p) for m, p in zip(sm.params.models, sm.input.environments)}
rows = reproduction_rows(metrics, environments, sm.params.scale, pd.read_csv(sm.input.blog_environments))
write_reproduction_rows(rows, sm.output.table)
