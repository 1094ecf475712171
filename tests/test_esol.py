"""The ESOL recipe on a small in-memory dataset: seeded, held-out, signed attributions, maps,
faithfulness, and reproduction rows keyed by the declared targets."""
import numpy as np
import pandas as pd
import pytest
import torch

from xairepro.context import RunContext
from xairepro.data.featurize import featurize_smiles
from xairepro.experiments.esol.blog_ig import blog_integrated_gradients, blog_maps
from xairepro.experiments.esol.attribution import ESOL_METHODS, attribute_fold, summarize
from xairepro.experiments.esol.data import split_fold
from xairepro.experiments.esol.faithfulness import heldout_faithfulness
from xairepro.experiments.esol.maps import map_attributions
from xairepro.experiments.esol.reproduction import reproduction_rows
from xairepro.experiments.esol.targets import TARGETS
from xairepro.experiments.esol.training import train_fold
from xairepro.report.targets import reproduction_table

SMILES = ["CCO", "CCCCO", "c1ccccc1", "Clc1ccccc1", "OCC(O)CO", "CCOC(=O)C", "Nc1ccccc1", "CCCCCCCC",
          "c1ccc2ccccc2c1", "OC(=O)c1ccccc1", "CC(C)O", "ClC(Cl)Cl", "CCN", "OCCO", "Brc1ccccc1"]
SPEC = {"arch": "nfp", "hidden_dim": 8, "n_layers": 2, "dropout": 0.25}
TRAIN = {"epochs": 3, "batch_size": 4, "lr": 1e-2}
ATTRIBUTION = {"mc_samples": 4, "smoothgrad_noise": 0.15, "baseline": 0.0}
N_FOLDS = 3


def ctx(seed=0):
    return RunContext(seed=seed, device="cpu", max_batch=64)


@pytest.fixture(scope="module")
def graphs():
    y = np.linspace(-4, 1, len(SMILES))
    return featurize_smiles(SMILES, y, ids=[f"m{i}" for i in range(len(SMILES))]).graphs


@pytest.fixture(scope="module")
def fold_models(graphs):
    return [train_fold(graphs, SPEC, f, n_folds=N_FOLDS, train=TRAIN, ctx=ctx()).model for f in range(N_FOLDS)]


def test_folds_partition_the_molecules(graphs):
    held_out = [g.row for f in range(3) for g in split_fold(graphs, f, 3, seed=0)[1]]
    assert sorted(held_out) == list(range(len(SMILES)))


def test_same_seed_same_model_and_attributions(graphs):
    runs = []
    for _ in range(2):
        model = train_fold(graphs, SPEC, 1, n_folds=N_FOLDS, train=TRAIN, ctx=ctx(5)).model
        pred, atoms = attribute_fold(model, graphs, 1, n_folds=N_FOLDS, attribution=ATTRIBUTION, ctx=ctx(5))
        runs.append((torch.cat([p.flatten() for p in model.parameters()]), pred, atoms))
    assert torch.equal(runs[0][0], runs[1][0])
    pd.testing.assert_frame_equal(runs[0][1], runs[1][1])
    pd.testing.assert_frame_equal(runs[0][2], runs[1][2])
    pred, atoms = runs[0][1], runs[0][2]
    assert set(pred["row"]) == {g.row for g in split_fold(graphs, 1, 3, 5)[1]}
    # one row per atom of every held-out molecule, with every method and its sample spread
    assert len(atoms) == sum(g.num_nodes for g in split_fold(graphs, 1, 3, 5)[1])
    for m in ESOL_METHODS:
        assert atoms[m].notna().all() and (atoms[f"{m}_std"] >= 0).all()
    assert (atoms["vanilla_std"] == 0).all()  # deterministic: one sample
    assert (atoms["bayesgrad_std"] > 0).any()  # dropout samples differ


def test_summary_environment_table_and_rows(graphs, fold_models, tmp_path):
    preds, atoms = zip(*[attribute_fold(m, graphs, f, n_folds=N_FOLDS, attribution=ATTRIBUTION, ctx=ctx())
                         for f, m in enumerate(fold_models)])
    metrics, table = summarize(pd.concat(preds), pd.concat(atoms))
    assert metrics["n"] == len(SMILES) and set(metrics["per_fold"]) == {0, 1, 2}
    assert set(table["method"]) == set(ESOL_METHODS)
    rows = reproduction_rows({"nfp": dict(metrics, r=0.90, mae=1.2), "mine": metrics}, {"nfp": table}, "quick")
    path = tmp_path / "rows.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    verdict = reproduction_table([path], TARGETS).set_index("id")
    assert verdict.loc["bayesgrad.esol.nfp.r", "reproduced"] == True  # noqa: E712  0.90 >= 0.851 - 0.01
    assert verdict.loc["bayesgrad.esol.nfp.mae", "reproduced"] == False  # noqa: E712  1.2 > 1.024 + 0.01
    assert verdict.loc["bayesgrad.esol.nfp.signs", "ours"].startswith("hydroxyl O")
    assert verdict.loc["bayesgrad.esol.ggnn.r", "note"].startswith("not yet")  # no GGNN row given
    assert not any("mine" in r["id"] for r in rows)  # a model without targets is not a row


def test_map_attributions_average_the_fold_models(fold_models):
    recs = map_attributions(fold_models[:2], {"ethanol": "CCO", "phenol": "Oc1ccccc1"}, attribution=ATTRIBUTION,
                            ctx=ctx())
    assert [r["name"] for r in recs] == ["ethanol", "phenol"]
    assert len(recs[1]["bayesgrad"]) == 7 and len(recs[1]["bayesgrad_std"]) == 7
    with pytest.raises(ValueError, match="cannot parse"):
        map_attributions(fold_models[:2], {"bad": "C1CC"}, attribution=ATTRIBUTION, ctx=ctx())


def test_heldout_faithfulness_pools_the_folds(graphs, fold_models):
    faith = {"n_examples": 6, "steps": 4, "max_fraction": 1.0, "n_random": 2, "ig_steps": 8}
    per_example, curves, summary = heldout_faithfulness(fold_models, graphs, n_folds=N_FOLDS,
                                                        attribution=ATTRIBUTION, faithfulness=faith, ctx=ctx())
    assert set(per_example["fold"]) == {0, 1, 2} and per_example.groupby("method").size().eq(6).all()
    assert summary["rank"].tolist() == list(range(1, 9)) and "random" in set(summary["method"])
    # pooled curves: one point per method, mode and step; deletion at 0 is the unperturbed prediction
    assert len(curves) == 8 * 2 * 5
    start = curves[(curves["mode"] == "deletion") & (curves["fraction"] == 0)]["mean"]
    assert np.allclose(start, start.iloc[0])


def test_blog_integrated_gradients_are_complete_and_signed(graphs, fold_models):
    atoms, table = blog_integrated_gradients(fold_models[0], graphs, n_folds=N_FOLDS, steps=64, baseline=0.0,
                                             ctx=ctx())
    held_out = split_fold(graphs, 0, N_FOLDS, 0)[1]
    assert len(atoms) == sum(g.num_nodes for g in held_out)
    assert atoms["ig_rel_error"].median() < 0.01  # IG sums to F(x) - F(0)
    assert set(table["method"]) == {"integrated_gradients"}
    maps = blog_maps(fold_models[0], {"ethanol": "CCO"}, steps=64, baseline=0.0, ctx=ctx())
    assert len(maps[0]["integrated_gradients"]) == 3 and maps[0]["rel_error"] < 0.01
