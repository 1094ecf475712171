"""The leaderboard's localisation column and its rank agreement with faithfulness, on synthetic
tables whose answer is known by construction."""
import numpy as np
import pandas as pd
import pytest

from xairepro.evaluation.leaderboard_localisation import (TASK_EXPERIMENT, localisation_agreement,
                                                          localisation_column, localisation_rows,
                                                          tox21_localisation_rows)

METHODS = ["vanilla_grad", "smoothgrad", "bayesgrad", "integrated_gradients"]


def _loc(task, mass, prc=None, models=(("mlp", 0), ("mlp", 1))):
    """Localisation rows of ``task``: each model gets ``mass[method] +/- 0.1`` (mean ``mass``)."""
    rows = []
    for j, (model, rep) in enumerate(models):
        shift = 0.1 if j % 2 == 0 else -0.1
        for m, v in mass.items():
            rows.append({"task": task, "modality": "x", "unit": "u", "model": model, "replicate": rep, "method": m,
                         "n_examples": 10, "prc_auc": (prc or mass)[m] + shift, "mass": v + shift, "pointing": 0.5})
    return pd.DataFrame(rows)


def _cells(exp, scores, operator="baseline"):
    return pd.DataFrame({"experiment": exp, "operator": operator, "method": list(scores),
                         "score": list(scores.values())})


def test_task_experiment_mapping_and_mean_over_models():
    rows = localisation_rows([_loc("tables", {"bayesgrad": 0.8, "smoothgrad": 0.4}),
                              _loc("images", {"bayesgrad": 0.3}, models=(("cnn", 0), ("cnn", 1), ("resnet", 0))),
                              _loc("pyridine", {"bayesgrad": 0.6})])
    col = localisation_column(rows).set_index(["experiment", "method"])
    assert set(col.index.get_level_values(0)) == {"iris", "vision", "smiles2vec"}
    assert col.loc[("iris", "bayesgrad"), "task"] == "tables"
    assert col.loc[("iris", "bayesgrad"), "mass"] == pytest.approx(0.8)
    assert col.loc[("iris", "smoothgrad"), "n_models"] == 2
    # three models: shifts +0.1, -0.1, +0.1 -> mean 0.3 + 0.1/3
    assert col.loc[("vision", "bayesgrad"), "mass"] == pytest.approx(0.3 + 0.1 / 3)
    assert col.loc[("vision", "bayesgrad"), "n_models"] == 3
    assert TASK_EXPERIMENT["text"] == "text" and TASK_EXPERIMENT["peptides"] == "peptides"


def test_unknown_task_is_an_error_naming_it():
    with pytest.raises(ValueError, match="planets"):
        localisation_rows([_loc("planets", {"bayesgrad": 0.5})])


def test_tox21_table1_gives_prc_auc_only_from_main_rows():
    per_model = pd.DataFrame({"seed": [0, 0, 1, 1, 0], "method": ["bayesgrad", "vanilla_grad"] * 2 + ["smoothgrad"],
                              "noise": [np.nan] * 4 + [0.3], "prc_auc": [0.9, 0.5, 0.7, 0.3, 0.99],
                              "main": [True, True, True, True, False]})
    col = localisation_column(localisation_rows([tox21_localisation_rows(per_model)])).set_index("method")
    assert list(col.index) == ["bayesgrad", "vanilla_grad"]  # the noise sweep's row is not a main row
    assert (col["experiment"] == "tox21").all()
    assert col.loc["bayesgrad", "prc_auc"] == pytest.approx(0.8)
    assert col.loc["vanilla_grad", "n_models"] == 2
    assert col["mass"].isna().all()


def test_same_ranking_gives_tau_one_and_reversed_minus_one():
    faith = {m: s for m, s in zip(METHODS, [0.1, 0.2, 0.9, 0.5])}
    same = {m: s for m, s in zip(METHODS, [0.3, 0.35, 0.8, 0.6])}  # bayesgrad best in both, same order
    rev = {m: s for m, s in zip(METHODS, [0.8, 0.6, 0.1, 0.3])}
    cells = pd.concat([_cells("iris", dict(faith, random=0.0)), _cells("peptides", faith)], ignore_index=True)
    # the random order scores highest mass here: kept in, it would break the perfect agreement
    col = localisation_column(localisation_rows([_loc("tables", dict(same, random=0.95)), _loc("peptides", rev)]))
    agree = localisation_agreement(cells, col).set_index(["experiment", "score"])
    assert agree.loc[("iris", "mass"), "tau"] == pytest.approx(1.0)
    assert agree.loc[("peptides", "mass"), "tau"] == pytest.approx(-1.0)
    assert agree.loc[("iris", "mass"), "n_methods"] == 4  # the random order left out
    assert "random" not in agree.loc[("iris", "mass"), "methods"].split()


def test_tau_over_methods_in_both_only():
    # one discordant pair among the three shared methods: tau = (2 - 1) / 3
    cells = _cells("text", {"vanilla_grad": 0.1, "smoothgrad": 0.2, "bayesgrad": 0.3, "deeplift": 0.9})
    col = localisation_column(localisation_rows([_loc("text", {"vanilla_grad": 0.2, "smoothgrad": 0.1,
                                                               "bayesgrad": 0.3, "lime": 0.0})]))
    row = localisation_agreement(cells, col).set_index("score").loc["mass"]
    assert row["n_methods"] == 3
    assert row["tau"] == pytest.approx(1 / 3)


def test_experiments_without_a_known_answer_are_empty():
    cells = pd.concat([_cells("esol", {"bayesgrad": 0.5, "smoothgrad": 0.2}),
                       _cells("tox21", {"bayesgrad": 0.5, "vanilla_grad": 0.2})], ignore_index=True)
    per_model = pd.DataFrame({"seed": [0, 0], "method": ["bayesgrad", "vanilla_grad"], "prc_auc": [0.9, 0.4],
                              "main": [True, True]})
    col = localisation_column(localisation_rows([tox21_localisation_rows(per_model)]))
    agree = localisation_agreement(cells, col).set_index(["experiment", "score"])
    assert np.isnan(agree.loc[("esol", "mass"), "tau"]) and np.isnan(agree.loc[("esol", "prc_auc"), "tau"])
    assert agree.loc[("esol", "mass"), "reason"] == "no known-answer task"
    assert np.isnan(agree.loc[("tox21", "mass"), "tau"])  # Table 1 has no mass
    assert agree.loc[("tox21", "mass"), "reason"] == "the experiment's known-answer task has no mass"
    assert agree.loc[("tox21", "mass"), "n_methods"] == 0
    assert agree.loc[("tox21", "prc_auc"), "tau"] == pytest.approx(1.0)
