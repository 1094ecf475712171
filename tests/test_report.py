"""The HTML report: reproduction table (with unreached targets marked), notebooks, provenance."""
import nbformat
import pandas as pd

import pytest

from xairepro.report import build_report
from xairepro.report.build import rule_runtimes
from xairepro.report.targets import (NOT_YET, Check, Target, UnknownTargetError, at_least, at_most,
                                     reproduction_row, reproduction_table, write_reproduction_rows)


TARGETS = [
    Target("demo.r", "BayesGrad", "ESOL NFP r", "0.851", (at_least(0.841),)),
    Target("demo.mae", "BayesGrad", "ESOL NFP MAE", "1.024", (at_most(1.034),)),
    Target("demo.wilcoxon", "BayesGrad", "BayesGrad vs VanillaGrad", "higher",
           (Check("mean_diff", ">", 0.0), Check("pvalue", "<", 0.05))),
    Target("demo.figure", "masks", "top words", "figure 3"),
]


def rows_csv(tmp_path, rows, name="rows.csv"):
    path = tmp_path / name
    write_reproduction_rows(rows, path)
    return path


def test_rows_join_on_target_ids_and_thresholds_come_from_the_targets(tmp_path):
    csv = rows_csv(tmp_path, [reproduction_row("demo.r", 0.9, "quick", value=0.9),
                              reproduction_row("demo.wilcoxon", "diff +0.02, p = 0.2", "full", mean_diff=0.02,
                                               pvalue=0.2)])
    table = reproduction_table([csv], TARGETS).set_index("id")
    assert list(table.index) == ["demo.r", "demo.mae", "demo.wilcoxon", "demo.figure"]  # declaration order
    assert table.loc["demo.r", "ours"] == "0.9" and table.loc["demo.r", "reproduced"] == True  # noqa: E712
    assert table.loc["demo.r", "criterion"] == "value >= 0.841"
    assert table.loc["demo.wilcoxon", "reproduced"] == False  # noqa: E712  (p = 0.2 fails p < 0.05)
    assert table.loc["demo.mae", "note"] == NOT_YET and table.loc["demo.mae", "ours"] == ""
    assert table.loc["demo.figure", "note"] == NOT_YET


def test_an_undeclared_row_id_fails_the_build_naming_it(tmp_path):
    csv = rows_csv(tmp_path, [reproduction_row("demo.typo", 0.9, "quick", value=0.9)])
    with pytest.raises(UnknownTargetError, match=r"rows\.csv.*demo\.typo"):
        reproduction_table([csv], TARGETS)


def test_a_missing_measure_and_duplicate_ids_are_errors(tmp_path):
    csv = rows_csv(tmp_path, [reproduction_row("demo.wilcoxon", "x", "quick", mean_diff=0.1)])
    with pytest.raises(KeyError, match="pvalue"):
        reproduction_table([csv], TARGETS)
    with pytest.raises(ValueError, match="declared twice"):
        reproduction_table([], TARGETS + TARGETS[:1])


def test_every_declared_target_of_every_experiment_has_a_unique_stable_id():
    from xairepro.experiments import all_targets, experiment_names

    names = experiment_names()
    assert {"esol", "tox21", "vision", "text", "smiles2vec", "peptides", "iris"} <= set(names)
    targets = all_targets()
    ids = [t.id for t in targets]
    assert len(ids) == len(set(ids))
    assert all(t.id.split(".")[0] in {"bayesgrad", "blog", "dmol", "counterfactuals", "masks"} for t in targets)
    assert {"bayesgrad.tox21.table1.bayesgrad", "masks.cifar10.test_accuracy", "masks.imdb.masked_accuracy",
            "masks.esol_smiles2vec.top3_accuracy", "dmol.peptides.shapley_sum", "blog.iris.petal_first"} <= set(ids)


def test_rule_runtimes_sum_jobs_per_rule(tmp_path):
    bench = tmp_path / "bench"
    (bench / "esol_train").mkdir(parents=True)
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for name, s in (("nfp_fold0", 2.5), ("nfp_fold1", 3.5)):
        (bench / "esol_train" / f"{name}.tsv").write_text(header + f"{s}\t0:00:02\t100\t1\t1\t1\t0\t0\t0\t1\n")
    (bench / "esol_featurize.tsv").write_text(header + "1.0\t0:00:01\t50\t1\t1\t1\t0\t0\t0\t1\n")
    rt = rule_runtimes(bench).set_index("rule")
    assert rt.loc["esol_train", "seconds"] == 6.0 and rt.loc["esol_train", "jobs"] == 2
    assert rt.loc["esol_featurize", "seconds"] == 1.0


def test_build_report_assembles_notebooks_table_and_provenance(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# ESOL section"),
                nbformat.v4.new_code_cell("print('hidden code')", outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="r = 0.93\n")])]
    nb_path = tmp_path / "esol.ipynb"
    nbformat.write(nb, nb_path)
    raw = tmp_path / "raw.csv"
    raw.write_text("a,b\n1,2\n")
    out = tmp_path / "report" / "index.html"
    csv = rows_csv(tmp_path, [reproduction_row("demo.r", 0.9, "quick", value=0.9),
                              reproduction_row("demo.figure", "figure", "quick")])
    build_report([str(nb_path)], [str(csv)], [str(raw)], {"scale": "quick", "seed": 7, "deterministic": False}, "quick",
                 tmp_path / "none",
                 tmp_path, out, targets=TARGETS, table_csv=tmp_path / "table.csv")
    assert pd.read_csv(tmp_path / "table.csv")["id"].tolist() == [t.id for t in TARGETS]
    html = out.read_text()
    assert "ESOL section" in html and "r = 0.93" in html
    assert "print(&#x27;hidden code&#x27;)" not in html and "hidden code')" not in html  # code cells hidden
    import hashlib
    assert hashlib.sha256(raw.read_bytes()).hexdigest() in html
    assert "not yet reproduced" in html and "Provenance" in html and "seed: 7" in html
    assert "<td>base seed</td><td>7</td>" in html and "<td>deterministic algorithms</td><td>False</td>" in html
    assert "demo.wilcoxon" in html and "ESOL NFP r" in html
    assert "compare by eye" in html  # a figure target with a row is not "not yet"
    assert html.count("<td>not yet</td>") == 2  # demo.mae and demo.wilcoxon have no row


SEEDED = [
    Target("demo.probe", "dmol", "P(GGGGG) < 0.5", "0.00", (at_most(0.5, "p"),), over_seeds=True),
    Target("demo.bbox", "counterfactuals", "IG inside the box on 82 of 100 images", "82/100",
           not_applicable="needs ImageNet bounding boxes; this adaptation uses CIFAR-10"),
]


@pytest.mark.parametrize("probabilities, verdict, seeds", [
    ([0.1, 0.2, 0.9, 0.3, 0.95, 0.2, 0.7, 0.1, 0.2, 0.99], "unstable", "6/10"),
    ([0.1] * 9 + [0.9], "reproduced", "9/10"),
    ([0.9] * 9 + [0.1], "not reproduced", "1/10"),
])
def test_a_claim_over_seeds_is_unstable_when_it_holds_in_some_seeds_and_not_others(tmp_path, probabilities,
                                                                                    verdict, seeds):
    csv = rows_csv(tmp_path, [reproduction_row("demo.probe", "median 0.25", "full",
                                               per_seed=[{"p": p} for p in probabilities])])
    table = reproduction_table([csv], SEEDED).set_index("id")
    assert table.loc["demo.probe", "verdict"] == verdict and table.loc["demo.probe", "seeds"] == seeds
    assert table.loc["demo.probe", "reproduced"] == {"reproduced": True, "not reproduced": False}.get(verdict)
    assert "95% Wilson interval of the share of seeds" in table.loc["demo.probe", "criterion"]
    # a claim that needs data the adaptation lacks is listed with its reason, never measured
    assert table.loc["demo.bbox", "verdict"] == "not applicable"
    assert "ImageNet bounding boxes" in table.loc["demo.bbox", "note"]


def test_a_seeded_claim_without_per_seed_measures_is_an_error_naming_the_target(tmp_path):
    csv = rows_csv(tmp_path, [reproduction_row("demo.probe", "0.2", "full", p=0.2)])
    with pytest.raises(KeyError, match=r"demo\.probe: a claim over seeds needs the measures 'per_seed'"):
        reproduction_table([csv], SEEDED)


def test_dashboard_counts_every_verdict_per_source():
    from xairepro.report.build import dashboard_counts

    table = pd.DataFrame({"source": ["A", "A", "A", "B", "B"],
                          "verdict": ["reproduced", "unstable", "not yet", "not applicable", "reproduced"]})
    counts = dashboard_counts(table)
    assert list(counts.index) == ["A", "B"]
    assert counts.loc["A", "reproduced"] == 1 and counts.loc["A", "unstable"] == 1 and counts.loc["A", "not yet"] == 1
    assert counts.loc["B", "not applicable"] == 1 and counts.loc["A", "total"] == 3
    assert counts.loc["B", "not reproduced"] == 0


def test_the_commit_stamp_calls_a_checkout_dirty_for_code_not_for_the_generated_pages(tmp_path):
    import subprocess

    from xairepro.report.build import _git_commit

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "docs" / "results").mkdir(parents=True)
    (tmp_path / "docs" / "results" / "index.md").write_text("old page\n")
    (tmp_path / "config.yaml").write_text("scale: quick\n")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    clean = _git_commit(tmp_path)
    assert len(clean) == 40 and "uncommitted" not in clean
    (tmp_path / "docs" / "results" / "index.md").write_text("new page\n")   # report_docs rewrote it
    assert _git_commit(tmp_path) == clean
    (tmp_path / "config.yaml").write_text("scale: cpu\n")
    assert _git_commit(tmp_path) == clean + " (with uncommitted changes)"
