"""IMDB rows of the reproduction table (paper's numbers beside ours)."""
import pandas as pd

from xairepro.experiments.text.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows(read_json(sm.input.metrics), read_json(sm.input.mask_metrics),
                         pd.read_csv(sm.input.completeness), pd.read_csv(sm.input.saturation),
                         pd.read_csv(sm.input.faithfulness), pd.read_csv(sm.input.top_words), sm.params.scale)
write_reproduction_rows(rows, sm.output.table)
