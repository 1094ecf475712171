"""Write docs/results/*.md from the finished run's own files (xairepro.report.docs)."""
from pathlib import Path

from xairepro.report.docs import run_stamp, write_docs
from xairepro.runtime import script_setup

sm = snakemake  # noqa: F821
log = script_setup(sm)
results = Path(sm.input.table).parent.parent  # results/report/reproduction.csv -> results
stamp = run_stamp(results, config=dict(sm.params.config), command=sm.params.command,
                  workdir=sm.params.workdir, threads=list(sm.params.threads))
written = write_docs(results, Path(sm.output.pages[0]).parent, stamp)
missing = sorted(set(map(str, sm.output.pages)) - {str(p) for p in written})
if missing:
    raise RuntimeError(f"report_docs: no results for the pages {missing} (their experiment wrote nothing)")
log.info("wrote %d pages into %s", len(written), Path(sm.output.pages[0]).parent)
