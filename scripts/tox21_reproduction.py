"""Tox21 rows of the reproduction table, keyed by target id."""
import pandas as pd

from xairepro.experiments.tox21.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows(
    pd.read_csv(sm.input.table1), pd.read_csv(sm.input.wilcoxon), read_json(sm.input.full_metrics),
    read_json(sm.input.srmmp_metrics), read_json(sm.input.maps), pd.read_csv(sm.input.completeness),
    pd.read_csv(sm.input.saturation), pd.read_csv(sm.input.dead_features), sm.params.scale,
    ranks=pd.read_csv(sm.input.srmmp_ranks), ablation=pd.read_csv(sm.input.ablation_wilcoxon),
    rules=pd.read_csv(sm.input.table1_rules))
write_reproduction_rows(rows, sm.output.table)
