"""Assemble results/report/index.html from the executed notebooks, reproduction rows and provenance."""
import pandas as pd

from xairepro.experiments import all_targets
from xairepro.report import build_report
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
build_report(
    notebooks=list(sm.input.notebooks), reproduction_csvs=list(sm.input.reproduction),
    raw_files=list(sm.input.raw), config=dict(sm.params.config), scale=sm.params.scale,
    threads=list(sm.params.threads),
    benchmark_dir=sm.params.benchmarks, workdir=sm.params.workdir, out_html=sm.output.html,
    targets=all_targets(), table_csv=sm.output.table,
    leaderboard={"heatmap": sm.input.heatmap, "verdicts": pd.read_csv(sm.input.verdicts),
                 "display": pd.read_csv(sm.input.display)},
)
log.info("wrote %s", sm.output.html)
