# Markdown pages of a finished run's numbers, written into docs/results/ (xairepro.report.docs): the
# reproduction table, the leaderboard and one page per experiment, each stamped with the command, the
# git commit, the scale, the machine and the date. On request only, not part of `rule all`:
#
#     snakemake report_docs --cores 1                       # after `snakemake --cores all`
#     snakemake report_docs --cores 1 --config scale=cpu    # after a cpu-scale run: the same --config
#
# Its inputs are the report's, so the same command first brings every result up to date for that
# config; the stamp records that command line (Snakemake's own, from sys.argv), the report's commit
# and the config's scale.
# Included after every experiment (it reads REPRODUCTION to name one page per experiment).
import shlex as _shlex
from pathlib import Path as _Path

DOCS_RESULTS = "docs/results"
DOCS_EXPERIMENTS = sorted({_Path(p).parent.name for p in REPRODUCTION})


rule report_docs:
    input:
        report=f"{RESULTS}/report/index.html",
        table=f"{RESULTS}/report/reproduction.csv",
        cells=f"{RESULTS}/leaderboard/cells.csv",
    output:
        pages=[f"{DOCS_RESULTS}/{page}.md" for page in ("index", "reproduction", "leaderboard", *DOCS_EXPERIMENTS)],
    params:
        config=config,
        workdir=workflow.basedir,
        command=f"snakemake {_shlex.join(sys.argv[1:])}",
        threads=job_threads,
    localrule: True
    log:
        log_path("report", "report_docs"),
    benchmark:
        bench_path("report_docs")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/report_docs.py"


# The leaderboard's page alone, for a scale whose whole report is not made (the cpu scale's leaderboard
# takes hours; its report would need every experiment at that scale), with its critical-difference
# diagram and heatmap beside it and the job time of the results folder:
#
#     snakemake leaderboard_docs --cores 2 --config scale=cpu      # docs/results/cpu/leaderboard.md
rule leaderboard_docs:
    input:
        cells=rules.leaderboard.output.cells,
        tables=[getattr(rules.leaderboard.output, name) for name in LEADERBOARD_TABLES if name != "rows"],
        figures=[f"{RESULTS}/report/figures/{f}" for f in NOTEBOOKS["leaderboard"]["figures"].values()],
    output:
        page=f"{DOCS_RESULTS}/{SCALE}/leaderboard.md",
    params:
        config=config,
        workdir=workflow.basedir,
        command=f"snakemake {_shlex.join(sys.argv[1:])}",
        threads=job_threads,
        figures={name: f"{RESULTS}/report/figures/{f}" for name, f in NOTEBOOKS["leaderboard"]["figures"].items()},
    localrule: True
    log:
        log_path("report", "leaderboard_docs"),
    benchmark:
        bench_path("leaderboard_docs")
    resources:
        **resources(1000, runtime=5),
    conda:
        CONDA_ENV
    script:
        "../scripts/leaderboard_docs.py"
