"""The generated result pages (xairepro.report.docs): regenerated from a small run made here in the real
formats, every number and verdict comes from the run's files, the stamp from the run, and a table the
run did not write is reported as absent, never filled in."""
import json

import numpy as np
import pytest
import pandas as pd

from xairepro.report.docs import Stamp, markdown_table, write_docs
from xairepro.report.leaderboard import assemble
from xairepro.report.targets import Target, at_least, at_most, reproduction_row, reproduction_table, \
    write_reproduction_rows

STAMP = Stamp(command="snakemake report_docs --cores 1 --config scale=cpu", commit="0123abc4567def",
              scale="cpu", machine="Linux-x86_64, 2 CPUs, torch 2.13.0, torch threads per job: 1, 2",
              date="2026-12-05 18:00 UTC", results_date="2026-12-05 17:40 UTC")
TARGETS = [
    Target("bayesgrad.esol.nfp.r", "BayesGrad", "ESOL NFP r", "0.851", (at_least(0.841),)),
    Target("bayesgrad.esol.nfp.mae", "BayesGrad", "ESOL NFP MAE", "1.024", (at_most(1.034),)),
    Target("blog.iris.petal_first", "saliency blog", "iris ranking", "petal length and width first",
           (at_least(0.5, measure="spearman_rho"),)),
    Target("masks.imdb.test_accuracy", "masks", "IMDB accuracy", "84.7%", (at_least(0.837),)),
]
CELLS = pd.DataFrame([
    {"experiment": "esol", "modality": "molecular graph", "unit": "atom", "model": "nfp", "method": "bayesgrad",
     "n_replicates": 5, "n_examples": 60, "deletion_aopc": 0.3, "score": 0.951, "score_lo": 0.921, "score_hi": 0.962,
     "rank": 2, "sanity_rho": 0.12, "sanity": "pass", "uncertainty_rho": 0.3, "uncertainty_n": 60, "seconds": 0.055},
    {"experiment": "iris", "modality": "table", "unit": "feature", "model": "mlp", "method": "random",
     "n_replicates": 1, "n_examples": 150, "deletion_aopc": 4.38, "score": 0.0, "score_lo": -0.004, "score_hi": 0.003,
     "rank": 5, "sanity_rho": 1.0, "sanity": "fail", "uncertainty_rho": np.nan, "uncertainty_n": np.nan,
     "seconds": 5.8e-05},
])


def make_run(root):
    """A finished run's files: the report's reproduction table (through the real join), leaderboard
    cells and skipped methods, iris's and esol's rows and a few of their key tables; no mean ranks,
    no verdicts, no faithfulness summaries."""
    results = root / "results"
    (results / "report").mkdir(parents=True)
    rows = {"esol": [reproduction_row("bayesgrad.esol.nfp.r", 0.916, "cpu", value=0.916),
                     reproduction_row("bayesgrad.esol.nfp.mae", 1.2, "cpu", value=1.2)],
            "iris": [reproduction_row("blog.iris.petal_first", "petal width > petal length | rho = 0.80", "cpu",
                                      spearman_rho=0.8)]}
    csvs = []
    for name, exp_rows in rows.items():
        (results / name).mkdir()
        write_reproduction_rows(exp_rows, results / name / "reproduction.csv")
        csvs.append(results / name / "reproduction.csv")
    reproduction_table(csvs, TARGETS).to_csv(results / "report" / "reproduction.csv", index=False)
    (results / "leaderboard").mkdir()
    CELLS.to_csv(results / "leaderboard" / "cells.csv", index=False)
    pd.DataFrame([{"experiment": "esol", "modality": "molecular graph", "unit": "atom", "model": "nfp",
                   "replicate": 0, "method": "shapley_sampling", "reason": "attributes at a layer"}]
                 ).to_csv(results / "leaderboard" / "skipped.csv", index=False)
    (results / "iris" / "metrics.json").write_text(json.dumps({"train_accuracy": 0.9733, "n": 150}))
    pd.DataFrame({"method": ["bayesgrad"], "ranking": ["petal width > petal length"], "petal_top2": [True]}
                 ).to_csv(results / "iris" / "agreement.csv", index=False)
    for model, r in (("nfp", 0.916), ("ggnn", 0.935)):
        (results / "esol" / model).mkdir()
        (results / "esol" / model / "metrics.json").write_text(json.dumps({"r": r, "mae": 0.6, "per_fold": {"0": {}}}))
    pd.DataFrame({"environment": ["hydroxyl O", "ether O"], "method": ["bayesgrad"] * 2, "n_atoms": [390, 303],
                  "mean": [0.1336, 0.5], "sem": [0.0025, 0.01], "expected_sign": ["+", None]}
                 ).to_csv(results / "esol" / "nfp" / "environments.csv", index=False)
    bench = results / "benchmarks"
    bench.mkdir()
    (bench / "train_iris.tsv").write_text("s\th:m:s\tmax_rss\n12.5\t0:00:12\t512.0\n")
    return results


def test_pages_carry_the_stamp_each_verdict_and_number_and_say_what_is_absent(tmp_path):
    results = make_run(tmp_path)
    written = write_docs(results, tmp_path / "docs" / "results", STAMP)
    names = sorted(p.name for p in written)
    assert names == ["esol.md", "index.md", "iris.md", "leaderboard.md", "reproduction.md"]
    pages = {p.name: p.read_text() for p in written}
    for text in pages.values():  # every page opens with the stamp
        head = text[:800]
        for given in ("0123abc4567def", "**cpu**", "2026-12-05 18:00 UTC", "2026-12-05 17:40 UTC",
                      "`snakemake report_docs --cores 1 --config scale=cpu`", "2 CPUs"):
            assert given in head, (given, head)

    repro = pages["reproduction.md"]
    rows = {line.split("|")[1].strip(): line for line in repro.splitlines() if line.startswith("| `")}
    assert "| reproduced | 0.851 | 0.916 |" in rows["`bayesgrad.esol.nfp.r`"]
    assert "| not reproduced | 1.024 | 1.2 |" in rows["`bayesgrad.esol.nfp.mae`"]
    assert "petal width > petal length \\| rho = 0.80" in rows["`blog.iris.petal_first`"]  # | escaped
    assert "| not yet |" in rows["`masks.imdb.test_accuracy`"]  # declared, no row: not yet, no number
    assert "Rows made at scale: cpu (3)." in repro

    lb = pages["leaderboard.md"]
    assert "0.95 [0.92, 0.96] #2 pass, 0.055 s" in lb
    assert "0.00 [-0.00, 0.00] #5 fail, 5.8e-05 s" in lb
    assert "n/a (a)" in lb and "(a) attributes at a layer" in lb
    assert "*Absent in this run:* `results/leaderboard/mean_ranks.csv`" in lb
    assert "*Absent in this run:* `results/leaderboard/verdicts.csv`" in lb

    iris = pages["iris.md"]
    assert "`blog.iris.petal_first` | reproduced" in iris and "bayesgrad.esol" not in iris
    assert "| train_accuracy | 0.9733 |" in iris and "| bayesgrad | petal width > petal length | True |" in iris
    assert "*Absent in this run:* `results/iris/importance.csv`" in iris
    esol = pages["esol.md"]
    assert "| ggnn | 0.935 | 0.6 |" in esol and "| nfp | 0.916 | 0.6 |" in esol  # one row per matched file
    assert "*Absent in this run:* `results/esol/*/faithfulness/summary.csv`" in esol
    assert "| hydroxyl O | bayesgrad | 390 | 0.1336 |" in esol
    assert "ether O" not in esol  # rows the claim does not name are left out (they stay in the CSV)

    index = pages["index.md"]
    assert "No results in this run for: tox21, vision, text, smiles2vec, peptides, groundtruth." in index
    assert "| train_iris | 1 | 12.5 | 512 |" in index
    assert "| all | 2 | 1 | 0 | 0 | 1 | 0 | 4 |" in index  # targets per source by verdict, with the total


def test_the_known_answer_page_shows_its_tables_without_targets_or_cells(tmp_path):
    results = make_run(tmp_path)
    (results / "groundtruth").mkdir()
    pd.DataFrame({"task": ["images", "images"], "method": ["bayesgrad", "random"], "n_models": [3, 3],
                  "prc_auc_mean": [0.4123, 0.0561]}).to_csv(results / "groundtruth" / "summary.csv", index=False)
    pd.DataFrame({"task": ["images"], "model": ["resnet"], "replicate": [0], "relies": [True], "n_scored": [50]}
                 ).to_csv(results / "groundtruth" / "verdicts.csv", index=False)
    written = {p.name: p for p in write_docs(results, tmp_path / "docs", STAMP)}
    page = written["groundtruth.md"].read_text()
    assert page.startswith("# Table 1 in every modality") and "0123abc4567def" in page[:800]
    assert "## Targets" not in page and "leaderboard cells" not in page
    assert "| images | bayesgrad | 3 | 0.4123 |" in page and "| images | resnet | 0 | True | 50 |" in page
    assert "*Absent in this run:* `results/groundtruth/comparisons.csv`" in page
    assert "groundtruth" not in written["index.md"].read_text().split("No results in this run for:")[1]


def test_a_run_without_its_tables_gives_absent_pages_and_old_pages_go(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    out = tmp_path / "docs"
    out.mkdir()
    (out / "vision.md").write_text("an older run's page")
    written = write_docs(results, out, STAMP)
    assert sorted(p.name for p in written) == ["index.md", "leaderboard.md", "reproduction.md"]
    assert not (out / "vision.md").exists()
    assert "*Absent in this run:* `results/report/reproduction.csv`" in (out / "reproduction.md").read_text()
    assert "*Absent in this run:* `results/leaderboard/cells.csv`" in (out / "leaderboard.md").read_text()


def test_leaderboard_page_reads_the_tables_the_leaderboard_rule_writes(tmp_path):
    rng = np.random.default_rng(0)
    rows = pd.DataFrame([dict(experiment="iris", modality="table", unit="feature", model="mlp", replicate=0,
                              operator="baseline", method=m, example=e, deletion_aopc=eff + rng.normal(0, 0.1),
                              insertion_auc=0.0, upper_aopc=1.5)
                         for e in range(20) for m, eff in (("bayesgrad", 1.0), ("vanilla_grad", 0.8),
                                                            ("smoothgrad", 0.9), ("random", 0.0))])
    empty = pd.DataFrame()
    out = assemble({"per_example": rows, "skipped": empty, "sanity": empty, "uncertainty": empty, "cost": empty},
                   n_boot=50, aa=False)
    lb = tmp_path / "results" / "leaderboard"
    lb.mkdir(parents=True)
    for name in ("cells", "mean_ranks", "verdicts", "skipped"):
        out[name].to_csv(lb / f"{name}.csv", index=False)
    write_docs(tmp_path / "results", tmp_path / "docs", STAMP)
    text = (tmp_path / "docs" / "leaderboard.md").read_text()
    for c in out["cells"].itertuples():
        assert f"{c.score:.2f} [{c.score_lo:.2f}, {c.score_hi:.2f}] #{int(c.rank)}" in text
    first = out["mean_ranks"].iloc[0]
    assert f"| `{first['method']}` | {first['mean_rank']:.1f} [" in text
    assert out["verdicts"]["verdict"].iloc[0] in text and "Absent" not in text.split("## Across experiments")[0]
    # the tables this run did not write are named as absent, never filled in
    assert "*Absent in this run:* `results/leaderboard/friedman.csv`" in text


def test_markdown_table_escapes_and_says_where_the_rest_is():
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["x|y", "line\nbreak", np.nan], "c": [0.123456, 1e-7, np.nan]})
    text = markdown_table(df, max_rows=2, source="results/x.csv")
    assert "| 1 | x\\|y | 0.1235 |" in text and "| 2 | line break | 1e-07 |" in text
    assert "First 2 of 3 rows; the whole table: `results/x.csv`." in text


@pytest.mark.slow
def test_report_docs_runs_when_asked_for_and_is_not_part_of_all(tmp_path):
    from conftest import copy_workflow, planned_rules, run_snakemake

    wf = copy_workflow(tmp_path / "wf")
    everything = planned_rules(run_snakemake(wf, "-n"))
    assert "report" in everything and "report_docs" not in everything and "leaderboard_docs" not in everything
    asked = planned_rules(run_snakemake(wf, "-n", "report_docs"))
    assert asked.count("report_docs") == 1 and "report" in asked


def test_the_leaderboard_page_alone_shows_the_checks_the_figures_and_the_job_time(tmp_path):
    """``leaderboard_docs``' page (a scale without its whole report, e.g. cpu): the Friedman result, the
    critical-difference ranks and diagram, the agreement, the bound's coverage, the A/A and random-last
    checks and the results folder's job time, each from the rule's own tables."""
    from xairepro.evaluation.leaderboard import aa_check
    from xairepro.report.docs import write_leaderboard_docs

    from test_leaderboard import synthetic

    effects = {"random": 0.0, "vanilla_grad": 1.0, "bayesgrad": 1.4, "smoothgrad": 1.2}
    rows = pd.concat([synthetic(effects, n=15, reps=3, experiment=f"x{k}", seed=k, operators=("baseline", "blur"))
                      for k in range(4)], ignore_index=True)
    bounds = pd.DataFrame({"experiment": "x0", "operator": "baseline", "example": range(4), "covered": [1, 1, 1, 0],
                           "search": "beam", "n_forward": 10, "seconds": 0.5})
    empty = pd.DataFrame()
    out = assemble({"per_example": rows, "skipped": empty, "sanity": empty, "uncertainty": empty, "cost": empty,
                    "bounds": bounds}, n_boot=30, aa=False)
    out["aa"] = pd.DataFrame([aa_check(3, 10, repetitions=20, n_boot=50)])
    results = tmp_path / "results"
    (results / "leaderboard").mkdir(parents=True)
    for name, table in out.items():
        if isinstance(table, pd.DataFrame):
            table.to_csv(results / "leaderboard" / f"{name}.csv", index=False)
    (results / "benchmarks" / "vision_train").mkdir(parents=True)
    for job, s in (("seed1", 1800.0), ("seed2", 1800.0)):
        (results / "benchmarks" / "vision_train" / f"{job}.tsv").write_text(f"s\tmax_rss\n{s}\t900\n")
    figure = tmp_path / "critical_difference.png"
    figure.write_bytes(b"\x89PNG\r\n\x1a\n")
    heatmap = tmp_path / "leaderboard_heatmap.png"
    heatmap.write_bytes(b"\x89PNG\r\n\x1a\nheat")
    page = write_leaderboard_docs(results, tmp_path / "docs" / "cpu", STAMP,
                                  figures={"critical_difference": figure, "leaderboard_heatmap": heatmap})
    text = page.read_text()
    assert page == tmp_path / "docs" / "cpu" / "leaderboard.md" and "scale: **cpu**" in text
    assert (tmp_path / "docs" / "cpu" / "critical_difference.png").read_bytes() == figure.read_bytes()
    assert "![Critical-difference diagram](critical_difference.png)" in text
    # both figures shown, the heatmap under the cells; the stamp names the rule that wrote this page
    assert (tmp_path / "docs" / "cpu" / "leaderboard_heatmap.png").read_bytes() == heatmap.read_bytes()
    assert text.index("](leaderboard_heatmap.png)") < text.index("## Models and examples per cell")
    assert "rerun `snakemake leaderboard_docs --cores 1`" in text and "rerun `snakemake report_docs" not in text
    f = out["friedman"].iloc[0]
    assert f"| {f['n_experiments']} | {f['n_methods']} |" in text and f"{f['pvalue']:.4g}" in text
    best = out["cd_ranks"].iloc[0]
    assert f"| {best['method']} | {best['mean_rank']:.4g} |" in text
    assert "| x0 | baseline | 4 | 0.75 | beam |" in text
    aa = out["aa"].iloc[0]
    assert f"| {int(aa['n_models'])} | {int(aa['n_examples'])} | 20 |" in text
    assert "2 jobs, 1.00 h summed over the jobs' own wall times" in text
    assert "Absent" not in text
