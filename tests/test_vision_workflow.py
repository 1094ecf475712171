"""The CIFAR-10 slice end to end on the real data (a tiny config): every rule, the faithfulness protocol's
tables, the reproduction rows and the notebook with its figures."""
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
        "attribution": {"mc_samples": 2,
                        "method_options": {"smoothgrad": {"stdevs": 0.15}, "integrated_gradients": {"n_steps": 8},
                                           "occlusion": {"sliding_window_shapes": [3, 8, 8], "strides": [3, 8, 8]},
                                           "random": {"M": 1}}},
        "counterfactuals": {"n_images": 4, "n_alphas": 6, "interior_alphas": [0.1, 0.5, 1.0], "n_interior": 2,
                            "n_grid": 2, "ig_rule": "trapezoid"},
        "aopc": {"n_examples": 4, "steps": 5, "max_fraction": 0.1, "sanity_steps": ["all"], "model_seeds": 2,
                 "operators": ["baseline", "mean_colour", "blur", "road"],
                 "methods": ["integrated_gradients", "vanilla_grad", "smoothgrad", "occlusion", "shapley_sampling",
                             "explanation_mask", "random"],
                 "dropout_methods": ["vanilla_grad", "bayesgrad", "explanation_mask", "random"]},
        "finetune": {"dropout": {"from": "classifier", "epochs": 1, "lr": 0.02}},
        "mask": {"n_seeds": 2, "width": 4, "n_convs": 2, "l2": 1.0e-4, "epochs": 1, "batch_size": 32, "lr": 1.0e-3,
                 "n_train": 64, "n_examples": 3},
        "saliency": {"n_images": 2, "methods": ["vanilla_grad", "smoothgrad", "bayesgrad", "bayes_smoothgrad"]},
    }
}


@needs_shared_data
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_vision_slice_runs_on_the_jpeg_mirror(tmp_path):
    import matplotlib.image

    from xairepro.experiments.vision.data import load_cached, to_float
    from xairepro.experiments.vision.training import accuracy
    from xairepro.training import load_checkpoint

    wf = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    target = "results/report/notebooks/vision.ipynb"
    proc = run_snakemake(wf, target, mirror=SHARED_DATA)
    rules = planned_rules(proc)
    for rule in ("vision_data", "vision_counterfactuals", "vision_aopc", "vision_saliency", "vision_reproduction",
                 "vision_notebook"):
        assert rules.count(rule) == 1, rule
    assert rules.count("vision_train") == 2 and rules.count("vision_mask") == 2  # two networks, two mask seeds
    res = wf / "results" / "vision"
    summary = json.loads((res / "data/summary.json").read_text())
    assert summary["n_train"] == 200 and summary["n_test"] == 80 and summary["lossy_jpeg"]
    assert summary["per_class_train"] == [20] * 10
    cache = load_cached(res / "data/cifar10.pt")
    for model in ("classifier", "dropout"):
        m = json.loads((res / f"models/{model}/metrics.json").read_text())
        hist = pd.read_csv(res / f"models/{model}/history.csv")
        assert list(hist["epoch"]) == ([1, 2] if model == "classifier" else [1]) and m["n_test"] == 80
        # the recorded accuracy is the saved model's on the cached test split
        net, _ = load_checkpoint(res / f"models/{model}/model.pt")
        assert accuracy(net, to_float(cache["x_test"]), cache["y_test"]) == pytest.approx(m["test_accuracy"], abs=1e-9)
        assert not list((res / f"models/{model}").glob("checkpoint-*.pt"))
    assert json.loads((res / "models/dropout/metrics.json").read_text())["finetuned_from"].endswith(
        "models/classifier/model.pt")
    comp = pd.read_csv(res / "counterfactuals/completeness.csv")
    assert np.allclose(comp["delta"], comp["score"] - comp["baseline_score"])
    assert np.allclose(comp["abs_error"], (comp["ig_sum"] - comp["delta"]).abs(), atol=1e-6)
    sat = pd.read_csv(res / "counterfactuals/saturation.csv")
    assert len(sat) == 4 * 6 and sat["softmax"].between(0, 1).all()
    lay = pd.read_csv(res / "counterfactuals/layer_saturation.csv")
    assert len(lay) == 4 * 6 * lay["block"].nunique() and lay.query("alpha == 1.0")["rel_l2"].abs().max() < 1e-5
    # the faithfulness protocol: all seven tables, the MC-dropout methods only on the dropout variant
    summ = pd.read_csv(res / "aopc/summary.csv")
    assert set(summ.query("model == 'classifier'")["method"]) == set(TINY["vision"]["aopc"]["methods"])
    assert set(summ.query("model == 'dropout'")["method"]) == {"vanilla_grad", "bayesgrad", "random"}
    per = pd.read_csv(res / "aopc/per_example.csv")
    assert set(per["experiment"]) == {"vision"} and set(per["unit"]) == {"pixel"}
    assert set(per["operator"]) == {"baseline", "mean_colour", "blur", "road"} and len(per) == 4 * (7 + 3) * 4
    skipped = pd.read_csv(res / "aopc/faithfulness_skipped.csv")
    assert skipped[["model", "method"]].values.tolist() == [["dropout", "explanation_mask"]]
    sanity = pd.read_csv(res / "aopc/sanity.csv")
    assert set(map(tuple, sanity[["model", "method"]].drop_duplicates().values)) == \
        set(map(tuple, per[["model", "method"]].drop_duplicates().values))
    assert set(sanity["randomisation"]) == {"all layers"}
    unc = pd.read_csv(res / "aopc/uncertainty.csv")
    assert {"bayesgrad", "smoothgrad"} <= set(unc["method"]) and unc["spearman_sd_vs_drop"].notna().any()
    assert set(pd.read_csv(res / "aopc/cost.csv")["method"]) == set(per["method"])
    with np.load(res / "saliency/maps.npz") as sal:
        names = list(sal["methods"])
        assert names == TINY["vision"]["saliency"]["methods"] and sal["maps"].shape == (4, 2, 32, 32)
        uncertainty = sal["spread"][names.index("bayesgrad")]
        assert (uncertainty > 0).any()
        assert not np.allclose(sal["maps"][names.index("bayesgrad")], sal["maps"][names.index("vanilla_grad")])
    # one mask network per seed, and they differ
    with np.load(res / "mask/seed0/examples.npz") as a, np.load(res / "mask/seed1/examples.npz") as b:
        assert not np.allclose(a["masks"], b["masks"])
    rows = pd.read_csv(res / "reproduction.csv").set_index("id")
    assert set(rows.index) == {"masks.cifar10.test_accuracy", "masks.cifar10.masked_accuracy",
                               "counterfactuals.cifar10.saturation", "counterfactuals.cifar10.layer_saturation",
                               "counterfactuals.cifar10.completeness", "counterfactuals.cifar10.aopc_ig_vs_gradient",
                               "blog.cifar10.saliency"}
    per_seed = json.loads(rows.loc["masks.cifar10.masked_accuracy", "measures"])["per_seed"]
    seed_metrics = [json.loads((res / f"mask/seed{k}/metrics.json").read_text()) for k in (0, 1)]
    assert [p["masked_accuracy"] for p in per_seed] == [m["masked_accuracy"] for m in seed_metrics]
    # the notebook ran without errors and states the BayesGrad informativeness number of uncertainty.csv
    nb = json.loads((wf / target).read_text())
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join("".join(o.get("data", {}).get("text/markdown", "")) for o in outputs)
    bg = unc.query("method == 'bayesgrad'")["spearman_sd_vs_drop"].mean()
    assert f"uncertainty on CIFAR-10: mean Spearman {bg:+.3f}" in text, text[-2000:]
    figures = wf / "results/report/figures"
    for name in ("training", "saturation", "layer_saturation", "interior", "ig_grid", "completeness", "aopc",
                 "masks", "saliency"):
        img = matplotlib.image.imread(figures / f"vision_{name}.png")
        assert img.ndim == 3 and min(img.shape[:2]) >= 200 and img[..., :3].std() > 0.02, name
    # nothing to do on a rerun, and the leaderboard gathers this experiment's tables
    again = run_snakemake(wf, target, "-n", mirror=SHARED_DATA)
    assert "vision_train" not in planned_rules(again)
    board = run_snakemake(wf, "results/leaderboard/rows.csv", "-n", mirror=SHARED_DATA)
    job = (board.stdout + board.stderr).split("rule leaderboard:")[1].split("output:")[0]
    for table in ("per_example", "faithfulness_skipped", "sanity", "uncertainty", "cost"):
        assert f"results/vision/aopc/{table}.csv" in job, table
        assert f"results/vision/aopc/seed1/{table}.csv" in job, table   # model seed 1's networks
    # model seed 1: both networks and the classifier's mask trained again with the seed derived for 1
    planned = planned_rules(board)
    assert planned.count("vision_train_seed") == 2 and planned.count("vision_mask_model_seed") == 1
    assert planned.count("vision_aopc_seed") == 1 and "vision_aopc" not in planned
