"""Iris (saliency blog, tabular): the MLP recipe, gradient vs forest importance, the reproduction row."""
import json

import pandas as pd
import pytest
import torch

from xairepro.context import RunContext
from xairepro.experiments.iris.data import iris_data
from xairepro.experiments.iris.importance import GRADIENT_METHODS, importance_study, rank_agreement
from xairepro.experiments.iris.reproduction import reproduction_rows
from xairepro.experiments.iris.training import train_iris
from xairepro.models import build_model

SPEC = {"arch": "tabular_mlp", "hidden_dim": 16, "n_layers": 2, "dropout": 0.5}
TRAIN = {"epochs": 6, "batch_size": 32, "lr": 0.03}
ATTR = {"mc_samples": 3, "smoothgrad_noise": 0.15, "noise_mode": "relative", "aggregate": "square"}
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
        runs.append(importance_study(trained.model, data, ATTR, FOREST, ctx=ctx))
    pd.testing.assert_frame_equal(runs[0][0], runs[1][0])
    importance, agreement = runs[0]
    assert metrics["train_accuracy"] > 0.5 and metrics["n"] == 150
    assert set(importance["method"]) == set(GRADIENT_METHODS) | {"forest_impurity", "forest_permutation"}
    assert (importance["importance"] >= 0).all()  # squared aggregation
    # the forest's own two rankings agree perfectly with themselves
    assert agreement.set_index("method").loc["forest_impurity", "rho_vs_forest_impurity"] == 1.0


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
