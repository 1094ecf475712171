"""Write docs/results/<scale>/leaderboard.md from the run's leaderboard tables (xairepro.report.docs)."""
from pathlib import Path

from xairepro.report.docs import run_stamp, write_leaderboard_docs
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
results = Path(sm.input.cells).parent.parent  # results/leaderboard/cells.csv -> results
stamp = run_stamp(results, config=dict(sm.params.config), command=sm.params.command,
                  workdir=sm.params.workdir, threads=list(sm.params.threads))
page = write_leaderboard_docs(results, Path(sm.output.page).parent, stamp, figures=dict(sm.params.figures))
log.info("wrote %s", page)
