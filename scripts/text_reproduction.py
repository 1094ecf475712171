"""IMDB rows of the reproduction table (paper's numbers beside ours; mask claims over mask seeds)."""
import pandas as pd

from xairepro.experiments.text.reproduction import reproduction_rows
from xairepro.report.targets import write_reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
rows = reproduction_rows(read_json(sm.input.metrics), pd.read_csv(sm.input.mask_seeds), pd.read_csv(sm.input.stability),
                         pd.read_csv(sm.input.jaccard), pd.read_csv(sm.input.completeness),
                         pd.read_csv(sm.input.saturation), pd.read_csv(sm.input.faithfulness), sm.params.scale,
                         model=sm.params.model)
write_reproduction_rows(rows, sm.output.table)
