"""The CIFAR-10 slice end to end on the real data (a tiny config): every rule, the reproduction rows and
the notebook with its figures."""
import json

import numpy as np
import pandas as pd
import pytest

from conftest import SHARED_DATA, copy_workflow, needs_shared_data, planned_rules, run_snakemake

TINY = {
    "vision": {
        "models": {
            "classifier": {"arch": "preact_resnet", "depth": 8, "block": "basic", "dropout": 0.0, "width": 16},
            "dropout": {"arch": "preact_resnet", "depth": 8, "block": "basic", "dropout": 0.5, "width": 16},
        },
        "data": {"n_train_per_class": 20, "n_test_per_class": 8, "augmentation": True},
        "train": {"epochs": 2, "batch_size": 32, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9,
                  "nesterov": True, "weight_decay": 5.0e-4, "schedule": "onecycle", "amp": True},
        "attribution": {"mc_samples": 2, "smoothgrad_noise": 0.15, "ig_steps": 8, "occlusion_window": 8,
                        "occlusion_stride": 8},
        "counterfactuals": {"n_images": 4, "n_alphas": 6, "interior_alphas": [0.1, 0.5, 1.0], "n_interior": 2,
                            "n_grid": 2, "ig_rule": "trapezoid"},
        "aopc": {"n_examples": 4, "steps": 5, "max_fraction": 0.1, "n_random": 1,
                 "methods": ["integrated_gradients", "vanilla_grad", "smoothgrad", "occlusion", "shapley_sampling",
                             "explanation_mask", "random"],
                 "dropout_methods": ["vanilla_grad", "bayesgrad", "explanation_mask", "random"]},
        "mask": {"width": 4, "n_convs": 2, "l2": 1.0e-4, "epochs": 1, "batch_size": 32, "lr": 1.0e-3,
                 "n_train": 64, "n_examples": 3},
        "saliency": {"n_images": 2, "methods": ["vanilla_grad", "smoothgrad", "bayesgrad", "bayes_smoothgrad"]},
    }
}


@needs_shared_data
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_vision_slice_runs_on_the_jpeg_mirror(tmp_path):
    wf = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    target = "results/report/notebooks/vision.ipynb"
    proc = run_snakemake(wf, target, mirror=SHARED_DATA)
    rules = planned_rules(proc)
    for rule in ("vision_data", "vision_mask", "vision_counterfactuals", "vision_aopc", "vision_saliency",
                 "vision_reproduction", "notebook_vision"):
        assert rule in rules, rule
    assert rules.count("vision_train") == 2
    res = wf / "results" / "vision"
    summary = json.loads((res / "data/summary.json").read_text())
    assert summary["n_train"] == 200 and summary["n_test"] == 80 and summary["lossy_jpeg"]
    assert summary["per_class_train"] == [20] * 10
    for model in ("classifier", "dropout"):
        m = json.loads((res / f"models/{model}/metrics.json").read_text())
        hist = pd.read_csv(res / f"models/{model}/history.csv")
        assert list(hist["epoch"]) == [1, 2] and 0.0 <= m["test_accuracy"] <= 1.0 and m["n_test"] == 80
        assert not list((res / f"models/{model}").glob("checkpoint-*.pt"))
    comp = pd.read_csv(res / "counterfactuals/completeness.csv")
    assert len(comp) == 4 and comp["rel_error"].notna().all()
    sat = pd.read_csv(res / "counterfactuals/saturation.csv")
    assert len(sat) == 4 * 6 and sat["softmax"].between(0, 1).all()
    summ = pd.read_csv(res / "aopc/summary.csv")
    assert set(summ.query("model == 'classifier'")["method"]) == set(TINY["vision"]["aopc"]["methods"])
    assert set(summ.query("model == 'dropout'")["method"]) == {"vanilla_grad", "bayesgrad", "random"}
    per = pd.read_csv(res / "aopc/per_example.csv")
    assert set(per["experiment"]) == {"vision"} and set(per["unit"]) == {"pixel"} and len(per) == 4 * (7 + 3)
    skipped = pd.read_csv(res / "aopc/faithfulness_skipped.csv")
    assert skipped[["model", "method"]].values.tolist() == [["dropout", "explanation_mask"]]
    with np.load(res / "saliency/maps.npz") as sal:
        names = list(sal["methods"])
        assert names == TINY["vision"]["saliency"]["methods"] and sal["maps"].shape == (4, 2, 32, 32)
        uncertainty = sal["spread"][names.index("bayesgrad")]
        assert (uncertainty > 0).any()
        assert not np.allclose(sal["maps"][names.index("bayesgrad")], sal["maps"][names.index("vanilla_grad")])
    rows = pd.read_csv(res / "reproduction.csv")
    assert set(rows["id"]) == {"masks.cifar10.test_accuracy", "masks.cifar10.masked_accuracy",
                               "counterfactuals.cifar10.saturation", "counterfactuals.cifar10.completeness",
                               "counterfactuals.cifar10.aopc_ig_vs_gradient", "blog.cifar10.saliency"}
    figures = wf / "results/report/figures"
    for name in ("training", "saturation", "interior", "ig_grid", "completeness", "aopc", "masks", "saliency"):
        assert (figures / f"vision_{name}.png").stat().st_size > 5000, name
    # nothing to do on a rerun
    again = run_snakemake(wf, target, "-n", mirror=SHARED_DATA)
    assert "vision_train" not in planned_rules(again)
