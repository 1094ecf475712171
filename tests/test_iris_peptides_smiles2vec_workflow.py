"""The iris, hemolytic-peptide and SMILES2vec slices of the workflow, run together by Snakemake on
the real data with a tiny configuration (one DAG, both cores), and the content of their outputs."""
import json

import pandas as pd
import torch

from conftest import SHARED_DATA, copy_workflow, needs_shared_data, planned_rules, run_snakemake
from xairepro.experiments.peptides.explain import METHODS as PEPTIDE_METHODS
from xairepro.experiments.smiles2vec.explain import METHODS as S2V_METHODS

TINY = {
    "iris": {"train": {"epochs": 20, "batch_size": 16, "lr": 0.02}, "attribution": {"mc_samples": 4},
             "importance": {"n_trees": 20, "permutation_repeats": 2}},
    "peptides": {"train": {"epochs": 3, "batch_size": 16, "lr": 0.01},
                 "attribution": {"ig_steps": 16, "smoothgrad_samples": 16, "shapley_samples": 64},
                 "faithfulness": {"n_examples": 3, "steps": 4, "max_fraction": 1.0, "n_random": 2, "ig_steps": 8,
                                  "smoothgrad_samples": 8, "shapley_samples": 8}},
    "smiles2vec": {
        "models": {"smiles2vec": {"arch": "smiles2vec", "embedding_dim": 8, "filters": 8, "rnn_sizes": [8],
                                  "dropout": 0.1}},
        "train": {"epochs": 1, "batch_size": 64, "lr": 0.003},
        "mask": {"split": "random", "hidden": 4, "n_layers": 2, "kernel_size": 3, "l1": 0.001, "l2": 0.0001,
                 "epochs": 1, "batch_size": 64, "lr": 0.001},
        "attribution": {"ig_steps": 4, "mc_samples": 2},
        "faithfulness": {"n_examples": 5, "steps": 4, "max_fraction": 1.0, "n_random": 2}},
}


@needs_shared_data
def test_three_slices(tmp_path):
    wd = copy_workflow(tmp_path / "wf", config_overrides=TINY)
    proc = run_snakemake(wd, "results/iris/reproduction.csv", "results/peptides/reproduction.csv",
                         "results/peptides/faithfulness/summary.csv", "results/smiles2vec/reproduction.csv",
                         "results/smiles2vec/faithfulness/summary.csv", mirror=SHARED_DATA)
    assert sorted(planned_rules(proc)) == sorted([
        "train_iris", "iris_importance", "iris_reproduction",
        "download_hemolytic", "train_peptides", "explain_peptide", "peptides_faithfulness", "peptides_reproduction",
        "download_esol", "featurize_smiles2vec", "train_smiles2vec", "train_smiles2vec", "smiles2vec_mask",
        "smiles2vec_explain", "smiles2vec_faithfulness", "smiles2vec_reproduction"])
    res = wd / "results"

    # iris: one row, every method's importance of the four measurements, the model as configured
    rep = pd.read_csv(res / "iris/reproduction.csv")
    assert list(rep["id"]) == ["blog.iris.petal_first"] and rep.loc[0, "scale"] == "quick"
    assert len(pd.read_csv(res / "iris/importance.csv")) == 5 * 4
    ckpt = torch.load(res / "iris/model.pt", weights_only=False)
    assert ckpt["model_kwargs"]["hidden_dim"] == 48 and ckpt["model_kwargs"]["n_in"] == 4

    # peptides: the chapter's split sizes, the example peptide, four methods plus random
    metrics = json.loads((res / "peptides/metrics.json").read_text())
    assert metrics["n_test"] == 63 and metrics["n_train"] == 508  # 634 peptides, 10% / 10% / rest
    assert "".join(pd.read_csv(res / "peptides/attributions.csv")["residue"]) == "RAGLQFPVGRLLRRLLRRLLR"
    summary = pd.read_csv(res / "peptides/faithfulness/summary.csv")
    assert set(summary["method"]) == {*PEPTIDE_METHODS, "random"} and (summary["n_examples"] <= 3).all()
    assert len(pd.read_csv(res / "peptides/reproduction.csv")) == 4

    # SMILES2vec: all 1,128 molecules without the trailing spaces, scaffold split sizes, the 366
    # soluble or insoluble molecules in the top-3 table
    meta = json.loads((res / "smiles2vec/featurized.json").read_text())
    assert len(meta["smiles"]) == 1128 and " " not in meta["vocab"]
    assert sorted(len(v) for v in meta["splits"]["scaffold"].values()) == [113, 113, 902]
    top3 = pd.read_csv(res / "smiles2vec/explain/top3.csv")
    assert top3["molecule"].nunique() == 366 and set(top3["method"]) == set(S2V_METHODS)
    fs = pd.read_csv(res / "smiles2vec/faithfulness/summary.csv")
    assert set(fs["method"]) == set(S2V_METHODS) and (fs["n_examples"] == 5).all()
    rep = pd.read_csv(res / "smiles2vec/reproduction.csv")
    assert list(rep["id"]) == ["masks.esol_smiles2vec.rmse", "masks.esol_smiles2vec.masked_rmse",
                               "masks.esol_smiles2vec.top3_accuracy"]
