"""The iris, hemolytic-peptide and SMILES2vec slices of the workflow, run together by Snakemake on
the real data with a tiny configuration (one DAG, both cores), a user's plugin method named in each
faithfulness study, and the content of their outputs."""
import json

import pandas as pd
import pytest
import torch

from conftest import SHARED_DATA, TOY_METHOD, TOY_PLUGIN, copy_workflow, needs_shared_data, planned_rules, run_snakemake
from xairepro.experiments.methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS

S2V_METHODS = ["explanation_mask", "integrated_gradients", "bayesgrad", "random"]
PEPTIDE_METHODS = ["vanilla_grad", "integrated_gradients", "smoothgrad", "shapley_sampling"]
TINY = {
    "plugins": [str(TOY_PLUGIN)],
    "iris": {"train": {"epochs": 20, "batch_size": 16, "lr": 0.02}, "attribution": {"mc_samples": 4},
             "importance": {"n_trees": 20, "permutation_repeats": 2},
             "faithfulness": {"methods": [TOY_METHOD, "integrated_gradients", "bayesgrad", "explanation_mask", "random"],
                              "n_examples": 20, "mc_samples": 4, "model_seeds": 2,
                              "method_options": {"integrated_gradients": {"n_steps": 8}, "random": {"M": 2}}}},
    "peptides": {"seeds": 2, "train": {"epochs": 3, "batch_size": 16, "lr": 0.01},
                 "attribution": {"samples": 64, "method_options": {"integrated_gradients": {"n_steps": 16}}},
                 "faithfulness": {"methods": [TOY_METHOD, "integrated_gradients", "bayesgrad", "shapley_sampling",
                                              "random"],
                                  "dropout_methods": ["bayesgrad", "random"],
                                  "n_examples": 3, "steps": 4, "max_fraction": 1.0, "samples": 8, "model_seeds": 2,
                                  "method_options": {"integrated_gradients": {"n_steps": 8}, "random": {"M": 2}}}},
    "smiles2vec": {
        "models": {"smiles2vec": {"arch": "smiles2vec", "embedding_dim": 8, "filters": 8, "rnn_sizes": [8],
                                  "dropout": 0.1}},
        "train": {"epochs": 1, "batch_size": 64, "lr": 0.003},
        "mask": {"split": "random", "hidden": 4, "n_layers": 2, "kernel_size": 3, "l1": 0.001, "l2": 0.0001,
                 "epochs": 1, "batch_size": 64, "lr": 0.001, "seeds": 1},
        "attribution": {"mc_samples": 2, "method_options": {"integrated_gradients": {"n_steps": 4}}},
        "faithfulness": {"methods": [TOY_METHOD, "integrated_gradients", "shapley_sampling", "explanation_mask",
                                     "random"],
                         "n_examples": 5, "steps": 4, "max_fraction": 1.0, "mc_samples": 2, "model_seeds": 2,
                         "method_options": {"integrated_gradients": {"n_steps": 4}, "random": {"M": 2}}}},
}


#: model seed 1's per-example rows of each faithfulness protocol
SEED1 = {"iris": "results/iris/seed1/faithfulness/per_example.csv",
         "peptides": "results/peptides/faithfulness/seed1/per_example.csv",
         "smiles2vec": "results/smiles2vec/random/seed1/faithfulness/per_example.csv"}


def _faithfulness(res, experiment):
    pe = pd.read_csv(res / experiment / "faithfulness/per_example.csv")
    skipped = pd.read_csv(res / experiment / "faithfulness/faithfulness_skipped.csv")
    assert list(pe.columns) == list(FAITHFULNESS_COLUMNS) and list(skipped.columns) == list(SKIPPED_COLUMNS)
    assert set(pe["experiment"]) == {experiment} and TOY_METHOD in set(pe["method"])
    return pe, skipped


@pytest.mark.slow
@needs_shared_data
def test_three_slices(tmp_path):
    wd = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    proc = run_snakemake(wd, "results/iris/reproduction.csv", "results/iris/faithfulness/summary.csv",
                         "results/peptides/reproduction.csv", "results/peptides/faithfulness/summary.csv",
                         "results/smiles2vec/reproduction.csv", "results/smiles2vec/faithfulness/summary.csv",
                         *SEED1.values(), mirror=SHARED_DATA)
    assert sorted(planned_rules(proc)) == sorted([
        "iris_train", "iris_importance", "iris_faithfulness", "iris_reproduction",
        "download_hemolytic", *["peptides_train"] * 3, *["peptides_seed_shapley"] * 2, "peptides_explain",
        "peptides_faithfulness", "peptides_reproduction",
        "download_esol", "smiles2vec_featurize", "smiles2vec_train", "smiles2vec_train", "smiles2vec_mask",
        "smiles2vec_mask_seed", "smiles2vec_mask_seeds", "smiles2vec_explain", "smiles2vec_faithfulness",
        "smiles2vec_reproduction",
        # model seed 1 of each faithfulness protocol: its own models (peptides: the CNN's seed 1 is trained
        # for the seed readings anyway, its dropout variant here), mask and job
        "iris_train_seed", "iris_faithfulness_seed", "peptides_train", "peptides_faithfulness_seed",
        "smiles2vec_train_seed", "smiles2vec_mask_model_seed", "smiles2vec_faithfulness_seed"])
    res = wd / "results"

    # iris: one row, every method's importance of the four measurements, the model as configured;
    # faithfulness over the four features, the plugin method in it, the mask skipped
    rep = pd.read_csv(res / "iris/reproduction.csv")
    assert list(rep["id"]) == ["blog.iris.petal_first"] and rep.loc[0, "scale"] == "quick"
    assert len(pd.read_csv(res / "iris/importance.csv")) == 5 * 4
    ckpt = torch.load(res / "iris/model.pt", weights_only=False)
    assert ckpt["model_kwargs"]["hidden_dim"] == 48 and ckpt["model_kwargs"]["n_in"] == 4
    pe, skipped = _faithfulness(res, "iris")
    assert set(pe["method"]) == {TOY_METHOD, "integrated_gradients", "bayesgrad", "random"}
    assert pe["example"].nunique() == 20 and list(skipped["method"]) == ["explanation_mask"]

    # peptides: the book's split sizes, the same for every model seed; the example peptide, the
    # configured methods; BayesGrad skipped on the CNN (no dropout) and run on its dropout variant
    runs = [json.loads((res / f"peptides/models/cnn/seed{s}/metrics.json").read_text()) for s in (0, 1)]
    for metrics in runs:
        assert metrics["n_test"] == 63 and metrics["n_train"] == 508  # 634 peptides, 10% / 10% / rest
        assert metrics["split_seed"] == 0 and metrics["test_positive_fraction"] == runs[0]["test_positive_fraction"]
    assert [m["seed"] for m in runs] == [0, 1] and runs[0]["probabilities"] != runs[1]["probabilities"]
    bars = pd.read_csv(res / "peptides/attributions.csv")
    assert "".join(bars["residue"]) == "RAGLQFPVGRLLRRLLRRLLR" and list(bars.columns[2:]) == PEPTIDE_METHODS
    summary = pd.read_csv(res / "peptides/faithfulness/summary.csv")
    by_model = summary.groupby("model")["method"].apply(set).to_dict()
    assert by_model == {"cnn": {TOY_METHOD, "integrated_gradients", "shapley_sampling", "random"},
                        "cnn_dropout": {"bayesgrad", "random"}}
    assert (summary["n_examples"] <= 3).all()
    pe, skipped = _faithfulness(res, "peptides")
    assert skipped[["model", "method"]].values.tolist() == [["cnn", "bayesgrad"]] and set(pe["unit"]) == {"residue"}
    rep = pd.read_csv(res / "peptides/reproduction.csv").set_index("id")
    assert list(rep.index[:5]) == ["dmol.peptides.test_accuracy", "dmol.peptides.p_qqqqq", "dmol.peptides.p_ggggg",
                                   "dmol.peptides.p_example", "dmol.peptides.shapley_reading"]
    assert json.loads(rep.loc["dmol.peptides.p_qqqqq", "measures"])["n_seeds"] == 2

    # SMILES2vec: all 1,128 molecules without the trailing spaces, scaffold split sizes, the 366
    # soluble or insoluble molecules in the top-3 table; Shapley skipped at the embedding layer
    meta = json.loads((res / "smiles2vec/featurized.json").read_text())
    assert len(meta["smiles"]) == 1128 and " " not in meta["vocab"]
    assert sorted(len(v) for v in meta["splits"]["scaffold"].values()) == [113, 113, 902]
    top3 = pd.read_csv(res / "smiles2vec/explain/top3.csv")
    assert top3["molecule"].nunique() == 366 and set(top3["method"]) == set(S2V_METHODS)
    fs = pd.read_csv(res / "smiles2vec/faithfulness/summary.csv")
    assert set(fs["method"]) == {TOY_METHOD, "integrated_gradients", "explanation_mask", "random"}
    assert (fs["n_examples"] == 5).all()
    pe, skipped = _faithfulness(res, "smiles2vec")
    assert list(skipped["method"]) == ["shapley_sampling"] and set(pe["unit"]) == {"character"}
    # model seed 1: the same columns, replicate 1, another trained model (iris: the same flowers, other
    # numbers; SMILES2vec: the next test molecules)
    for experiment, path in SEED1.items():
        seed0, seed1 = pd.read_csv(res / experiment / "faithfulness/per_example.csv"), pd.read_csv(wd / path)
        assert list(seed1.columns) == list(FAITHFULNESS_COLUMNS), experiment
        assert set(seed0["replicate"]) == {0} and set(seed1["replicate"]) == {1}, experiment
        assert set(seed1["model"]) == set(seed0["model"]) and set(seed1["method"]) == set(seed0["method"]), experiment
    iris0, iris1 = (pd.read_csv(p).query("method == 'integrated_gradients'").sort_values("example")
                    for p in (res / "iris/faithfulness/per_example.csv", wd / SEED1["iris"]))
    assert list(iris0["example"]) == list(iris1["example"])
    assert not iris0["deletion_aopc"].to_numpy() == pytest.approx(iris1["deletion_aopc"].to_numpy())
    s2v0, s2v1 = (set(pd.read_csv(p)["example"]) for p in (res / "smiles2vec/faithfulness/per_example.csv",
                                                             wd / SEED1["smiles2vec"]))
    assert len(s2v0) == len(s2v1) == 5 and not s2v0 & s2v1
    rep = pd.read_csv(res / "smiles2vec/reproduction.csv")
    assert list(rep["id"]) == ["masks.esol_smiles2vec.rmse", "masks.esol_smiles2vec.masked_rmse",
                               "masks.esol_smiles2vec.top3_accuracy"]
