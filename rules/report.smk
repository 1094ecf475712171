# Notebooks (papermill) turn results into figures; the report rule assembles every executed
# notebook, the reproduction table and the provenance into results/report/index.html.
#
# Each experiment's .smk registers its notebook in NOTEBOOKS (rules/common.smk) with the result
# files it reads and the figures it writes, each by name, and its parameters; its reproduction rows
# in REPRODUCTION; its raw inputs in REPORT_RAW. One rule per notebook is generated below; the
# notebook gets ``inputs`` and ``figures`` ({name: path}) as papermill parameters, so it never types a
# path, and editing notebooks/<name>.ipynb reruns only that notebook and the report.

for _name, _nb in NOTEBOOKS.items():
    _figures = notebook_tree(_nb["figures"], lambda f: f"{RESULTS}/report/figures/{f}")

    rule:
        name:
            f"{_name}_notebook"
        input:
            notebook=f"notebooks/{_name}.ipynb",
            data=notebook_paths(_nb["inputs"]),
        output:
            notebook=f"{RESULTS}/report/notebooks/{_name}.ipynb",
            figures=[
                report(f, caption=f"../report/{os.path.basename(f).rsplit('.', 1)[0]}.rst", category=_nb["category"])
                for f in notebook_paths(_figures)
            ],
        params:
            parameters=dict(_nb["parameters"], inputs=notebook_tree(_nb["inputs"]), figures=_figures),
        log:
            log_path("report", f"{_name}_notebook"),
        benchmark:
            bench_path(f"{_name}_notebook")
        resources:
            **resources(3000, runtime=15),
        conda:
            CONDA_ENV
        script:
            "../scripts/run_notebook.py"


rule report:
    input:
        notebooks=[f"{RESULTS}/report/notebooks/{name}.ipynb" for name in NOTEBOOKS],
        reproduction=REPRODUCTION,
        raw=REPORT_RAW,
        heatmap=f"{RESULTS}/report/figures/leaderboard_heatmap.png",
        verdicts=rules.leaderboard.output.verdicts,
        display=rules.leaderboard.output.display,
    output:
        html=f"{RESULTS}/report/index.html",
        table=f"{RESULTS}/report/reproduction.csv",
    params:
        config=config,
        scale=SCALE,
        benchmarks=BENCH,
        workdir=workflow.basedir,
        # torch threads per job (each job's rule `threads`): a model's numbers can change with them
        threads=job_threads,
    log:
        log_path("report", "report"),
    benchmark:
        bench_path("report")
    resources:
        **resources(2000, runtime=10),
    conda:
        CONDA_ENV
    script:
        "../scripts/build_report.py"
