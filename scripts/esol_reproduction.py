"""ESOL rows of the reproduction table (paper's r and MAE beside ours)."""
from xairepro.experiments.esol import reproduction_rows
from xairepro.runtime import read_json, script_setup

sm = snakemake  # noqa: F821
script_setup(sm)
metrics = {m: read_json(p) for m, p in zip(sm.params.models, sm.input.metrics)}
reproduction_rows(metrics, sm.params.scale).to_csv(sm.output.table, index=False)
