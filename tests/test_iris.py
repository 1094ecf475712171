"""Iris (saliency blog, tabular): the MLP recipe, gradient vs forest importance, the reproduction row."""
import json

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

import numpy as np
from scipy.stats import spearmanr

from conftest import TOY_METHOD
from xairepro.attribution import SmoothGrad
from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.faithfulness import faithfulness_study
from xairepro.experiments.iris.importance import importance_study, rank_agreement
from xairepro.experiments.iris.reproduction import reproduction_rows
from xairepro.experiments.iris.settings import OPERATORS as IRIS_OPERATORS, example_inputs, explainer, settings, unit
from xairepro.experiments.iris.training import train_iris
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS
from xairepro.models import build_model

SPEC = {"arch": "tabular_mlp", "hidden_dim": 16, "n_layers": 2, "dropout": 0.5}
TRAIN = {"epochs": 6, "batch_size": 32, "lr": 0.03}
GRADIENT_METHODS = ["vanilla_grad", "smoothgrad", "bayesgrad"]
ATTR = {"methods": GRADIENT_METHODS, "mc_samples": 3, "noise_mode": "relative", "aggregate": "square",
        "method_options": {"smoothgrad": {"stdevs": 0.15}}}
FOREST = {"n_trees": 10, "permutation_repeats": 2}


def test_mlp_layers_follow_chainer_chemistry():
    model = build_model("tabular_mlp", n_in=4, hidden_dim=48, n_layers=2, dropout=0.5, n_out=3)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(4, 48), (48, 3)]
    assert sum(isinstance(m, torch.nn.Dropout) for m in model.modules()) == 1
    with pytest.raises(ValueError, match="n_layers"):
        build_model("tabular_mlp", n_in=4, n_layers=0)


def test_seeded_training_and_importance_are_reproducible():
    ctx = RunContext(seed=3, device="cpu", max_batch=512)
    data = iris_data()
    runs = []
    for _ in range(2):
        trained, metrics = train_iris(data, SPEC, TRAIN, ctx=ctx)
        runs.append(importance_study({"model": trained.model, "data": data},
                                     {"attribution": ATTR, "importance": FOREST}, ctx=ctx))
    pd.testing.assert_frame_equal(runs[0].importance, runs[1].importance)
    out = runs[0]
    importance, agreement = out.importance, out.agreement
    assert metrics["train_accuracy"] > 0.5 and metrics["n"] == 150 and out.skipped.empty
    assert set(importance["method"]) == set(GRADIENT_METHODS) | {"forest_impurity", "forest_permutation"}
    # each method's agreement is Spearman's rho of its four importances against the forest's
    wide = importance.pivot(index="feature", columns="method", values="importance").loc[list(data.features)]
    rho = agreement.set_index("method")["rho_vs_forest_impurity"]
    for method in GRADIENT_METHODS:
        assert rho[method] == pytest.approx(spearmanr(wide[method], wide["forest_impurity"]).statistic)
    # SmoothGrad is method 1 of the list: it draws with ctx.child(1)'s seed, the squared loss
    # gradient averaged over samples and flowers
    x = torch.as_tensor(data.x, dtype=torch.float32)
    y = torch.as_tensor(data.y)
    sg = SmoothGrad(trained.model, stdevs=0.15, noise_mode="relative",
                    output_fn=lambda out: F.cross_entropy(out, y.repeat(out.shape[0] // len(y)), reduction="none"))
    by_hand = sg.compute(x, M=3, seed=ctx.child(1).seed).attribution("square").mean(0).numpy()
    got = importance[importance["method"] == "smoothgrad"]["importance"].to_numpy()
    np.testing.assert_allclose(got, by_hand, rtol=1e-5)
    # a method that cannot apply is listed, not an error
    skipped = importance_study({"model": trained.model, "data": data},
                               {"attribution": dict(ATTR, methods=["vanilla_grad", "explanation_mask"]),
                                "importance": FOREST}, ctx=ctx).skipped
    assert list(skipped["method"]) == ["explanation_mask"]


def test_faithfulness_names_a_registered_plugin_method():
    ctx = RunContext(seed=0, device="cpu", max_batch=2048)
    data = iris_data()
    trained, _ = train_iris(data, SPEC, TRAIN, ctx=ctx)
    spec = {"methods": [TOY_METHOD, "input_x_gradient", "occlusion", "shapley_sampling", "explanation_mask", "random"],
            "n_examples": 20, "steps": 4, "max_fraction": 1.0, "mc_samples": 8, "uncertainty_examples": 3,
            "method_options": {"integrated_gradients": {"n_steps": 8}, "random": {"M": 3}}}
    res = faithfulness_study({"model": trained.model, "data": data, "model_name": "mlp"},
                             {"attribution": {"noise_mode": "relative"}, "faithfulness": spec}, ctx=ctx)
    pe = res.per_example
    assert list(pe.columns) == list(FAITHFULNESS_COLUMNS)
    assert set(pe["method"]) == {TOY_METHOD, "input_x_gradient", "occlusion", "shapley_sampling", "random"}
    assert (pe.groupby(["method", "operator"]).size() == 20).all() and set(pe["operator"]) == set(IRIS_OPERATORS)
    assert set(pe[["experiment", "modality", "unit", "model"]].itertuples(index=False, name=None)) == {
        ("iris", "table", "feature", "mlp")}
    assert list(res.skipped["method"]) == ["explanation_mask"]
    # the sampled method's (Shapley, M = 8) per-feature mean and sd of three flowers spread over the 20,
    # each feature named; the random orders (M = 3) are orders, not samples, so not among them
    shown = res.unit_examples
    assert set(shown["method"]) == {"shapley_sampling"} and set(shown["M"]) == {8}
    assert sorted(set(shown["example"])) == [0, 10, 19]
    assert list(shown[shown["example"] == 0]["unit_label"]) == list(data.features)
    assert (shown["sd"] > 0).any()
    # removing the features input x gradient (from the training mean) ranks first lowers the true
    # class's logit more than the reverse order the toy method gives
    summary = res.summary[res.summary["operator"] == "baseline"].set_index("method")
    assert summary.loc["input_x_gradient", "deletion_aopc"] > summary.loc[TOY_METHOD, "deletion_aopc"]
    assert summary.loc["input_x_gradient", "deletion_aopc"] > summary.loc["random", "deletion_aopc"]


def test_rank_agreement_and_reproduction_row():
    features = ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]
    vals = {"bayesgrad": [0.1, 0.3, 0.5, 0.9], "forest_impurity": [0.2, 0.05, 0.4, 0.45],
            "forest_permutation": [0.9, 0.8, 0.1, 0.2]}
    imp = pd.DataFrame([{"method": m, "feature": f, "importance": v} for m, vs in vals.items()
                        for f, v in zip(features, vs)])
    agreement = rank_agreement(imp, features)
    row = agreement.set_index("method").loc["bayesgrad"]
    assert row["petal_top2"] and row["rho_vs_forest_impurity"] == 0.8  # one swapped sepal pair
    assert not agreement.set_index("method").loc["forest_permutation", "petal_top2"]
    (rep,) = reproduction_rows(agreement, "quick")
    assert rep["id"] == "blog.iris.petal_first" and json.loads(rep["measures"]) == {"petal_top2": True,
                                                                                    "spearman_rho": 0.8}


def test_settings_and_the_explainer_of_the_configured_sections():
    from xairepro.config import load_config

    cfg = load_config("config.yaml", {"scale": "quick"})["iris"]
    ctx = RunContext(seed=0, device="cpu", max_batch=512)
    data = iris_data()
    x = example_inputs(7, cfg)
    assert x.shape == (7, len(data.features)) and x.dtype == torch.float32 and (x > 0).all()
    model = build_model("tabular_mlp", n_in=4, hidden_dim=8, n_layers=2, dropout=0.5, n_out=3)
    got = settings(model, {"noise_mode": "absolute"}, data=data, ctx=ctx)
    mean = torch.as_tensor(data.x, dtype=torch.float32).mean(0)
    assert torch.equal(got["baselines"], mean) and got["background"].shape == (150, 4)
    assert got["noise_mode"] == "absolute" and "output_fn" not in got
    assert torch.equal(unit(data).baseline, mean)
    faith = explainer(model, cfg["faithfulness"], ctx=ctx, data=data)
    assert faith.methods == cfg["faithfulness"]["methods"]
    assert faith.samples("bayesgrad") == cfg["faithfulness"]["mc_samples"] == 30
    assert faith.samples("random") == 5                       # the top-level method_options.random.M
    assert faith.options("integrated_gradients") == {"n_steps": 32}
    assert faith.options("smoothgrad") == {"stdevs": 0.15}    # the top-level default
    attribution = explainer(model, cfg["attribution"], ctx=ctx, data=data)
    assert attribution.samples("smoothgrad") == 30 and attribution.reading("bayesgrad") == "square"
    # every configured method explains the example flowers, one row per flower
    results = faith.explain(x, torch.zeros(7, dtype=torch.long))
    assert results["explanation_mask"].__class__.__name__ == "NotApplicable"
    assert results["smoothgrad"].samples.shape == (30, 7, 4) and results["random"].samples.shape == (5, 7, 4)
