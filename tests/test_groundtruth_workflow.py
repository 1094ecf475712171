"""The known-answer stage run by Snakemake at a tiny size on the real data (the tables and peptides
tasks, a user's plugin method configured beside the built-ins), and the content of its tables."""
import pandas as pd
import pytest
import yaml

from conftest import SHARED_DATA, TOY_METHOD, TOY_PLUGIN, copy_workflow, needs_shared_data, planned_rules, run_snakemake
from xairepro.groundtruth.reliance import RELIANCE_COLUMNS
from xairepro.groundtruth.study import LOCALISATION_TABLE_COLUMNS

METHODS = ["vanilla_grad", "smoothgrad", "bayesgrad", TOY_METHOD, "random"]
TINY = {"plugins": [str(TOY_PLUGIN)],
        "groundtruth": {"n_models": 2, "n_scored": 6, "n_shown": 1, "tasks": {
            "tables": {"train": {"epochs": 40, "batch_size": 16, "lr": 0.02},
                       "attribution": {"methods": METHODS, "mc_samples": 4}},
            "peptides": {"train": {"epochs": 3, "batch_size": 32, "lr": 0.003},
                         "attribution": {"methods": METHODS, "mc_samples": 4, "background": 16}}}}}


@pytest.mark.slow
@needs_shared_data
def test_groundtruth_stage(tmp_path):
    wd = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    cfg = yaml.safe_load((wd / "config.yaml").read_text())
    for task in ("images", "text"):      # the two tasks that need the CIFAR-10 and IMDB caches: left out here
        del cfg["groundtruth"]["tasks"][task]
    (wd / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    proc = run_snakemake(wd, "groundtruth", mirror=SHARED_DATA)
    assert sorted(planned_rules(proc)) == sorted(
        ["download_hemolytic", "groundtruth_make", "groundtruth_make", *["groundtruth_train"] * 4,
         *["groundtruth_score"] * 4, "groundtruth_gather", "groundtruth"])
    res = wd / "results/groundtruth"
    rel = pd.read_csv(res / "reliance.csv")
    assert list(rel.columns) == RELIANCE_COLUMNS and len(rel) == 2 * 2 * 3
    verdicts = pd.read_csv(res / "verdicts.csv")
    loc = pd.read_csv(res / "localisation.csv")
    assert list(loc.columns) == LOCALISATION_TABLE_COLUMNS
    for (task, rep), v in verdicts.set_index(["task", "replicate"])["relies"].items():
        rows = loc[(loc["task"] == task) & (loc["replicate"] == rep)]
        # a model that relies on the evidence is scored with every method, the plugin's included; one that
        # does not is not scored at all
        assert set(rows["method"]) == (set(METHODS) if v else set())
    assert verdicts["relies"].any()
    scored = verdicts[verdicts["relies"]]
    assert (scored["n_scored"] == scored["n_depend"].clip(upper=6)).all()
    summ = pd.read_csv(res / "summary.csv")
    for (task, method), g in loc.groupby(["task", "method"]):
        row = summ[(summ["task"] == task) & (summ["method"] == method)].iloc[0]
        assert row["prc_auc_mean"] == pytest.approx(g["prc_auc"].mean()) and row["n_models"] == len(g)
    # the random order is the floor: the planted evidence is found by the gradient far more often
    tab = loc[loc["task"] == "tables"].groupby("method")["pointing"].mean()
    if len(tab):
        assert tab["vanilla_grad"] > tab["random"]
