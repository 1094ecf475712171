"""The mask seeds of every reading gathered: per-seed metrics, top words, their stability across seeds."""
import pandas as pd

from xairepro.experiments.text.mask_readout import mask_seed_tables
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
tables = mask_seed_tables([read_json(p) for p in sm.input.metrics], [pd.read_csv(p) for p in sm.input.top_words])
for key in ("seeds", "top_words", "stability", "jaccard"):
    tables[key].to_csv(sm.output[key], index=False)
