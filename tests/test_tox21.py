"""The Tox21 experiment: labels, splits, the dead-features measurement, a tiny end-to-end run of
every recipe on 40 hand-made molecules, the real-data counts, and the workflow's Tox21 DAG."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from xairepro.models.gnn import PairConv
import torch
from torch_geometric.data import Batch

from conftest import REPO_ROOT
from xairepro.config import load_config
from xairepro.data.featurize import featurize_smiles, graphs_from_smiles
from xairepro.data.loaders import TOX21_TASKS
from xairepro.experiments import tox21 as T

PYRIDINES = ["c1ccncc1", "Cc1ccncc1", "CCc1ccncc1", "Oc1ccncc1", "Nc1ccncc1", "Clc1ccncc1", "c1ccc2ncccc2c1",
             "CC(=O)c1ccncc1", "OCc1ccncc1", "c1ccc(-c2ccccn2)nc1", "COc1ccncc1", "CCCc1ccncc1", "Cc1cccnc1C",
             "Brc1cccnc1", "NC(=O)c1cccnc1", "Cc1ccc(C)nc1", "CCOC(=O)c1cccnc1", "Fc1ccncc1", "c1ccncc1CCO",
             "CN(C)c1ccncc1"]
OTHERS = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "c1ccc(O)cc1", "CCCCCC", "C1CCNCC1", "CC(C)O", "c1ccoc1", "c1ccsc1",
          "CCOCC", "OCC(O)CO", "Clc1ccccc1", "CC(=O)Nc1ccccc1", "c1ccc2ccccc2c1", "CC(C)(C)c1cccc(C(C)(C)C)c1O",
          "CC(C)(C)c1cc(C)cc(C(C)(C)C)c1O", "CCCCO", "NCCO", "CS(C)=O"]
SRMMP = TOX21_TASKS.index("SR-MMP")
TYRPHOSTIN = "CC(C)(C)c1cc(C=C(C#N)C#N)cc(C(C)(C)C)c1O"
TYRPHOSTIN_OME = "CC(C)(C)c1cc(C=C(C#N)C#N)cc(C(C)(C)C)c1OC"

TINY_CFG = {
    "val_fraction": 0.3, "batch_size": 8, "lr": 0.01,
    "ggnn": {"hidden_dim": 8, "n_layers": 2, "dropout": 0.25},
    "full_epochs": 2, "subset": {"n_models": 2, "size": 20, "epochs": 2},
    "mc_samples": 3, "smoothgrad_noise": 0.15, "noise_sweep": [0.1, 0.15], "n_rates": 20, "n_examples": 2,
    "srmmp": {"split": [0.5, 0.25, 0.25], "nfp": {"hidden_dim": 8, "n_layers": 2, "dropout": 0.25}, "epochs": 2,
              "phenol_smarts": "[OX2H]c1c(C(C)(C)C)cccc1C(C)(C)C", "n_similar": 2,
              "map_molecules": {"Tyrphostin 9": TYRPHOSTIN, "Tyrphostin 9 O-methyl": TYRPHOSTIN_OME}},
    "integrated_gradients": {"steps": 16, "n_molecules": 8, "n_saturation": 3},
    "dead_features": {"models": ["weave", "ggnn"], "layers": [1, 2], "hidden_dim": 8, "dropout": 0.0, "epochs": 1,
                      "n_molecules": 5, "ig_steps": 8, "rel_tol": 1e-4},
}


@pytest.fixture(scope="module")
def tiny():
    """40 molecules, half with pyridine; 12 random task labels with gaps; SR-MMP positive for the
    hindered phenols and every third molecule, missing for every seventh (but the phenols)."""
    smiles = PYRIDINES + OTHERS
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(len(smiles), len(TOX21_TASKS))).astype(float)
    y[rng.random(y.shape) < 0.1] = np.nan
    y[:, SRMMP] = [1.0 if (i % 3 == 0 or "C(C)(C)C" in s) else 0.0 for i, s in enumerate(smiles)]
    y[[i for i in range(0, len(smiles), 7) if "C(C)(C)C" not in smiles[i]], SRMMP] = np.nan
    graphs = featurize_smiles(smiles, y, [f"M{i}" for i in range(len(smiles))]).graphs
    return graphs, T.make_splits(graphs, TINY_CFG, seed=0)


# --------------------------------------------------------------------------- labels and splits

def test_labels_and_summary(tiny):
    graphs, _ = tiny
    assert T.pyridine_labels(graphs).tolist() == [1.0] * 20 + [0.0] * 20
    sr = T.task_labels(graphs, "SR-MMP")
    assert np.isnan(sr[[0, 7, 14, 21, 28]]).all() and np.isnan(sr).sum() == 5 and sr[35] == 1.0
    smiles = PYRIDINES + ["O=CO[AlH3](OC=O)OC=O", "CCO"]  # Tox21 row RDKit cannot parse (valence)
    labels = np.full((len(smiles), len(TOX21_TASKS)), np.nan)
    labels[:, SRMMP] = 1.0
    summary = T.featurize_summary(featurize_smiles(smiles, labels))
    assert (summary["n_rows"], summary["n_parsed"], summary["n_failed"]) == (22, 21, 1)
    assert summary["n_pyridine"] == 20
    assert summary["tasks"]["SR-MMP"] == {"positive": 21, "negative": 0, "missing": 0}
    assert summary["tasks"]["NR-AR"]["missing"] == 21


def test_with_labels_copies_and_never_touches_the_original(tiny):
    graphs, _ = tiny
    before = graphs[0].y.clone()
    out = T.with_labels(graphs[:3], np.array([1.0, np.nan, 0.0]))
    assert torch.equal(graphs[0].y, before) and graphs[0].y.shape == (1, 12)
    assert [float(g.y[0, 0]) for g in out] == [1.0, 0.0, 0.0]
    assert [bool(g.y_mask[0, 0]) for g in out] == [True, False, True]
    assert out[0].smiles == graphs[0].smiles and out[0].x is graphs[0].x


def test_splits_are_fixed_disjoint_and_srmmp_only_labelled(tiny):
    graphs, splits = tiny
    again = T.make_splits(graphs, TINY_CFG, seed=0)
    assert again == splits
    assert T.make_splits(graphs, TINY_CFG, seed=1)["pyridine"] != splits["pyridine"]
    pyr = splits["pyridine"]
    assert sorted(pyr["train"] + pyr["val"]) == list(range(len(graphs)))
    labelled = set(np.flatnonzero(~np.isnan(T.task_labels(graphs, "SR-MMP"))).tolist())
    parts = [set(v) for v in splits["srmmp"].values()]
    assert set().union(*parts) == labelled and sum(map(len, parts)) == len(labelled)
    train, val = T.pyridine_data(graphs, splits, subset=0, size=10)
    assert len(train) == 10 and len(val) == len(pyr["val"])
    assert {g.mol_id for g in train} <= {graphs[i].mol_id for i in pyr["train"]}
    other, _ = T.pyridine_data(graphs, splits, subset=1, size=10)
    assert [g.mol_id for g in other] != [g.mol_id for g in train]  # one subset per seed
    ev, truth = T.pyridine_evaluation_set(graphs, splits)
    assert ev and all(t for t in truth) and {g.mol_id for g in ev} <= {graphs[i].mol_id for i in pyr["val"]}


def test_method_runs_cover_the_sweep_and_mark_the_main_sigma():
    runs = T.method_runs(TINY_CFG)
    assert [m for m, _ in runs[:2]] == ["vanilla", "bayesgrad"] and all(np.isnan(s) for _, s in runs[:2])
    noisy = [(m, s) for m, s in runs if m in T.NOISY_METHODS]
    assert sorted({s for _, s in noisy}) == [0.1, 0.15]
    mains = [m for m, s in runs if T.is_main_run(m, s, TINY_CFG)]
    assert sorted(mains) == sorted(T.TOX21_METHODS)


def test_key_oxygen_of_tyrphostin_and_its_methyl_ether():
    assert T.key_oxygen(TYRPHOSTIN) == 20
    assert T.key_oxygen(TYRPHOSTIN_OME) == 20
    assert T.key_oxygen("c1ccccc1O") is None


# --------------------------------------------------------------------------- dead features

def test_atom_keys_and_stable_colours():
    (ethanol,) = graphs_from_smiles(["CCO"])
    assert T.atom_keys(ethanol) == [(6, 1, 0, 0, 0), (6, 2, 0, 0, 0), (8, 1, 0, 0, 0)]
    (pyridine,) = graphs_from_smiles(["c1ccncc1"])  # atom 3 is N: 2~4 and 1~5 are symmetric
    c = T.stable_colors(pyridine)
    assert c[2] == c[4] and c[1] == c[5] and len({c[0], c[1], c[2], c[3]}) == 4


def test_one_layer_weave_gives_identical_attributions_two_layers_do_not():
    graphs = graphs_from_smiles(["OCCCC", "NCCCCO", "CC(=O)CCCl"])
    for g in graphs:
        g.mol_id = g.smiles
    torch.manual_seed(0)
    results = {}
    for n_layers in (1, 2):
        model = PairConv(hidden_dim=8, n_layers=n_layers)
        _, _, attr = T.integrated_gradients_study(model, graphs, 8, 0, 512)
        pairs = T.dead_feature_pairs(graphs, attr, 1e-4)
        assert len(pairs) > 0  # e.g. C1 (next to O) and C2 in OCCCC: same type, same bonds
        results[n_layers] = pairs["identical"].mean()
    assert results[1] == 1.0
    assert results[2] < 0.5


def test_pair_conv_batches_like_single_graphs():
    graphs = graphs_from_smiles(["OCCCC", "c1ccncc1"])
    model = PairConv(hidden_dim=8, n_layers=2).eval()
    batched = model(Batch.from_data_list(graphs))
    single = torch.cat([model(Batch.from_data_list([g])) for g in graphs])
    torch.testing.assert_close(batched, single)


# --------------------------------------------------------------------------- end to end

def test_tiny_end_to_end_every_recipe(tiny):
    graphs, splits = tiny
    full = T.train_recipe("pyridine_full", graphs, splits, TINY_CFG, seed=0, device="cpu")
    assert {"train_roc_auc", "val_roc_auc", "n_train", "n_val"} <= set(full["metrics"])
    assert len(full["history"]) == 2

    ev, truth = T.pyridine_evaluation_set(graphs, splits)
    prc_rows, curves = [], []
    for k in range(2):
        sub = T.train_recipe("pyridine_subset", graphs, splits, TINY_CFG, seed=0, device="cpu", subset=k)
        assert sub["metrics"]["n_train"] == 20
        summary, curve, scores = T.pyridine_attributions(sub["model"], ev, truth, TINY_CFG, seed=k, max_batch=256)
        assert len(summary) == 2 + 2 * 2 and summary["prc_auc"].between(0, 1).all()
        assert set(summary.loc[summary["main"], "method"]) == set(T.TOX21_METHODS)
        assert len(curve) == len(summary) * 20
        assert set(scores) == set(T.TOX21_METHODS) | {f"{m}_std" for m in T.TOX21_METHODS}
        summary.insert(0, "seed", k)
        curve.insert(0, "seed", k)
        prc_rows.append(summary)
        curves.append(curve)
    prc = pd.concat(prc_rows)
    table = T.table1(prc)
    assert table["method"].tolist() == list(T.TOX21_METHODS) and (table["n_models"] == 2).all()
    wil = T.wilcoxon_table(prc)
    assert wil["versus"].tolist() == ["vanilla", "smoothgrad", "bayessmoothgrad"]
    assert len(T.noise_sweep_table(prc)) == 4 and len(T.mean_curves(pd.concat(curves))) == 4 * 20
    bounds = T.ranking_bounds(ev, truth, TINY_CFG, seed=0)
    assert bounds["reversed"]["prc_auc"] < bounds["random"]["prc_auc"] < bounds["perfect"]["prc_auc"]
    examples = T.pyridine_examples(ev, truth, scores, 2, seed=0)
    assert len(examples) == 2 and {"truth", "bayesgrad", "bayesgrad_std"} <= set(examples[0])
    atoms = T.pyridine_atom_table(ev, truth, scores)
    assert atoms["truth"].sum() == sum(len(t) for t in truth)

    sr = T.train_recipe("srmmp", graphs, splits, TINY_CFG, seed=0, device="cpu")
    assert {"train_roc_auc", "val_roc_auc", "test_roc_auc"} <= set(sr["metrics"])
    assert sr["metrics"]["n_train"] + sr["metrics"]["n_val"] + sr["metrics"]["n_test"] == 35  # 5 missing left out
    similar = T.similar_phenols(graphs, splits, TINY_CFG["srmmp"]["phenol_smarts"], 2)
    assert len(similar) == 2 and all("C(C)(C)C" in m["smiles"] for m in similar)
    molecules = [{"name": n, "smiles": s, "source": "named"} for n, s in TINY_CFG["srmmp"]["map_molecules"].items()]
    maps = T.srmmp_maps(sr["model"], molecules + similar, TINY_CFG, seed=0, max_batch=256)
    assert [m["oxygen"] for m in maps[:2]] == [20, 20]
    assert all(1 <= m["oxygen_rank"] <= m["n_atoms"] for m in maps)
    assert all(len(m["bayesgrad"]) == len(m["bayesgrad_std"]) == m["n_atoms"] for m in maps)

    ig_cfg = TINY_CFG["integrated_gradients"]
    actives, held_out = T.ig_molecule_sets(graphs, splits, "srmmp", ig_cfg)
    comp, _, attr = T.integrated_gradients_study(sr["model"], held_out, 16, 0, 256, label="nfp")
    assert len(comp) == len(held_out) and len(attr) == len(held_out)
    np.testing.assert_allclose(comp["attribution_sum"], [a.sum() for a in attr], rtol=1e-4, atol=1e-6)
    actives, _ = T.ig_molecule_sets(graphs, splits, "pyridine", ig_cfg)
    _, path, _ = T.integrated_gradients_study(full["model"], actives, 16, len(actives), 256, label="ggnn")
    assert len(path) == 16 * len(actives) and path["alpha"].min() == 0 and path["alpha"].max() == 1
    sat = T.saturation_summary(path)
    assert len(sat) == len(actives)
    # both models in one call, as the workflow runs it: rows tagged by model, same numbers
    ig_cfg16 = dict(ig_cfg, steps=16)
    comp_all, path_all = T.integrated_gradients_runs(
        [("srmmp", "nfp", sr["model"]), ("pyridine", "ggnn", full["model"])], graphs, splits, ig_cfg16, 256, 0)
    assert set(comp_all["model"]) == {"nfp", "ggnn"} and set(path_all["model"]) == {"nfp", "ggnn"}
    np.testing.assert_allclose(comp_all[comp_all["model"] == "nfp"]["attribution_sum"].to_numpy(),
                               comp["attribution_sum"].to_numpy(), rtol=1e-5, atol=1e-7)
    assert len(path_all[path_all["model"] == "ggnn"]) == len(path)

    dead, pairs = T.dead_features_study(graphs, splits, TINY_CFG, seed=0, max_batch=256)
    assert len(dead) == 4 and dead.set_index(["model", "n_layers"]).loc[("weave", 1), "fraction_identical"] == 1.0

    rows = T.reproduction_rows(table, wil, full["metrics"], sr["metrics"], maps, comp, sat, dead, "quick")
    assert list(rows.columns) == ["source", "experiment", "paper", "ours", "criterion", "reproduced", "scale", "note"]
    assert rows["experiment"].str.startswith("Tox21").all()
    assert set(rows["source"]) == {"BayesGrad", "counterfactuals"}


def test_config_section_resolves_by_scale():
    quick = load_config(REPO_ROOT / "config.yaml", {"scale": "quick"})["tox21"]
    full = load_config(REPO_ROOT / "config.yaml", {"scale": "full"})["tox21"]
    assert quick["subset"]["n_models"] == 3 and quick["mc_samples"] == 10
    assert full["subset"] == {"n_models": 30, "size": 1000, "epochs": 100}
    assert full["mc_samples"] == 100 and full["smoothgrad_noise"] == 0.15
    assert full["ggnn"] == {"hidden_dim": 16, "n_layers": 4, "dropout": 0.25}
    assert full["srmmp"]["epochs"] == 200


# --------------------------------------------------------------------------- real data and workflow

@pytest.mark.shared_data
def test_real_tox21_counts(shared_data):
    result = T.featurize_tox21(shared_data / "tox21" / "tox21.csv")
    summary = T.featurize_summary(result)
    assert summary["n_rows"] == 7831 and summary["n_parsed"] == 7823 and summary["n_failed"] == 8
    assert all("[AlH3]" in f["smiles"] for f in result.failures)
    assert summary["n_pyridine"] == 473
    # over the 7,823 parsed molecules (SOURCES.md's 918 / 4,892 / 2,021 counts all 7,831 rows)
    assert summary["tasks"]["SR-MMP"] == {"positive": 918, "negative": 4886, "missing": 2019}


def _dry_run(tmp_path, *args):
    work = tmp_path / "wf"
    work.mkdir()
    for name in ["Snakefile", "config.yaml", "rules", "scripts", "notebooks", "report", "envs", "xairepro"]:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, work / name)
    env = dict(os.environ, XAIREPRO_DATA_MIRROR=str(tmp_path / "mirror"))
    cmd = [sys.executable, "-m", "snakemake", "-n", "--cores", "2", *args]
    proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return re.findall(r"^(?:local)?rule (\w+):", proc.stdout + proc.stderr, flags=re.M)


@pytest.mark.parametrize("scale, n_models", [("quick", 3), ("full", 30)])
def test_workflow_plans_one_job_per_seed(tmp_path, scale, n_models):
    rules = _dry_run(tmp_path, "results/report/notebooks/tox21.ipynb", "--config", f"scale={scale}")
    assert rules.count("train_tox21_subset") == n_models
    assert rules.count("prcauc_tox21_subset") == n_models
    for rule in ("featurize_tox21", "split_tox21", "train_tox21_pyridine", "attribute_tox21_pyridine",
                 "gather_tox21_table1", "train_tox21_srmmp", "tox21_srmmp_maps", "tox21_integrated_gradients",
                 "tox21_dead_features", "tox21_reproduction", "notebook_tox21"):
        assert rules.count(rule) == 1, rule
