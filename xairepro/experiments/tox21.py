"""Tox21: BayesGrad paper sections 4.1-4.2 and the graph-model part of "Gradients of
counterfactuals" (section 3.1).

* Synthetic pyridine label (BayesGrad 4.1): label 1 when a molecule matches ``c1ccncc1``; the
  ground-truth atoms are the ring atoms of every match. A GGNN with dropout is trained on a
  fixed, seeded training split; VanillaGrad, SmoothGrad, BayesGrad and BayesSmoothGrad (squared
  gradient on the atom embedding, summed over channels) are scored by the top-k precision-recall
  curve over the validation molecules that contain pyridine. Table 1 repeats this for 30 models
  trained on random 1,000-compound subsets of the training split and compares the methods with a
  paired Wilcoxon test.
* SR-MMP (BayesGrad 4.2): NFP with dropout on the real SR-MMP label (missing labels left out),
  BayesGrad maps of Tyrphostin 9, its O-methyl derivative and Tox21 compounds with the same
  hindered phenol, each with the per-atom standard deviation across the M samples.
* Atom integrated gradients (counterfactuals 3.1): completeness per molecule, the score along the
  scaling path for 25 active molecules (saturation), and the "dead features" check: with one
  convolution layer a Weave-style network gives identical attributions to atoms of the same type
  with the same bonds.

Nothing here is chosen by looking at the validation molecules the PRC-AUC is computed on: the
hyperparameters are the paper's reference settings and the model is the last epoch's.
"""
from __future__ import annotations

import copy
import math
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch import nn
from torch_geometric.data import Batch

from ..attribution import IntegratedGradients
from ..data.featurize import N_BOND_TYPES, FeaturizeResult, featurize_smiles, graphs_from_smiles
from ..data.splits import random_split, random_subset
from ..evaluation.ground_truth import (DEFAULT_RATES, atom_rank, has_substructure, paired_wilcoxon,
                                       pyridine_atoms, roc_auc, substructure_prc_auc)
from ..models import build_model
from ..training import TrainConfig, fit, predict, seed_everything
from .graphs import atom_scores, atom_table, mc_dropout_predictions

#: The four methods of Table 1, in report order, and their names in the paper.
TOX21_METHODS = ("vanilla", "smoothgrad", "bayesgrad", "bayessmoothgrad")
METHOD_NAMES = {"vanilla": "VanillaGrad", "smoothgrad": "SmoothGrad", "bayesgrad": "BayesGrad",
                "bayessmoothgrad": "BayesSmoothGrad"}
NOISY_METHODS = ("smoothgrad", "bayessmoothgrad")
#: Table 1 of the BayesGrad paper: PRC-AUC mean and sd over 30 models.
PAPER_TABLE1 = {"vanilla": (0.506, 0.044), "smoothgrad": (0.514, 0.042), "bayesgrad": (0.544, 0.019),
                "bayessmoothgrad": (0.536, 0.028)}
#: Section 4.1: train and validation ROC-AUC of the full-data pyridine model.
PAPER_ROC_AUC = 0.99
SRMMP_TASK = "SR-MMP"
#: The oxygen on a 2,6-di-tert-butylphenyl ring, free (phenol) or methylated: the first atom of a
#: match is the oxygen whose score Fig. 3 is about.
HINDERED_OXYGEN_SMARTS = "[OX2]c1c(C(C)(C)C)cccc1C(C)(C)C"


# =========================================================================== data

def featurize_tox21(csv_path) -> FeaturizeResult:
    """Graphs of every parsable Tox21 molecule with all 12 task labels (NaN = not measured)."""
    from ..data.loaders import TOX21_TASKS, load_moleculenet_csv

    df = load_moleculenet_csv(csv_path, smiles_col="smiles", id_col="mol_id", tasks=TOX21_TASKS)
    return featurize_smiles(df["smiles"].tolist(), df[list(TOX21_TASKS)].to_numpy(dtype=float),
                            df["mol_id"].tolist(), source=str(csv_path))


def task_labels(graphs: Sequence, task: str) -> np.ndarray:
    """One Tox21 task's labels (1.0, 0.0, NaN when not measured) from the featurized graphs."""
    from ..data.loaders import TOX21_TASKS

    j = TOX21_TASKS.index(task)
    return np.array([float(g.y[0, j]) if bool(g.y_mask[0, j]) else np.nan for g in graphs])


def pyridine_labels(graphs: Sequence) -> np.ndarray:
    """The synthetic label: 1.0 when the molecule contains pyridine, else 0.0."""
    return np.array([float(has_substructure(g.smiles)) for g in graphs])


def featurize_summary(result: FeaturizeResult, n_rows: int | None = None) -> dict:
    from ..data.loaders import TOX21_TASKS

    graphs = result.graphs
    tasks = {}
    for task in TOX21_TASKS:
        y = task_labels(graphs, task)
        tasks[task] = {"positive": int((y == 1).sum()), "negative": int((y == 0).sum()),
                       "missing": int(np.isnan(y).sum())}
    return {"n_rows": n_rows if n_rows is not None else result.n_parsed + len(result.failures),
            "n_parsed": result.n_parsed, "n_failed": len(result.failures), "failures": result.failures,
            "n_pyridine": int(pyridine_labels(graphs).sum()), "tasks": tasks}


def with_labels(graphs: Sequence, y: np.ndarray) -> list:
    """Shallow copies of ``graphs`` carrying a single binary label ``y`` (NaN = missing, masked)."""
    out = []
    for g, label in zip(graphs, np.asarray(y, dtype=float)):
        h = copy.copy(g)
        missing = bool(np.isnan(label))
        h.y = torch.tensor([[0.0 if missing else float(label)]])
        h.y_mask = torch.tensor([[not missing]])
        out.append(h)
    return out


def make_splits(graphs: Sequence, cfg: dict, seed: int) -> dict:
    """Fixed, seeded splits (positions in ``graphs``).

    ``pyridine``: train / val over every parsable molecule. ``srmmp``: train / val / test over
    the molecules with a measured SR-MMP label only, so a missing label is never a negative.
    """
    fractions = (1.0 - cfg["val_fraction"], cfg["val_fraction"])
    train, val = random_split(len(graphs), fractions, seed)
    labelled = np.flatnonzero(~np.isnan(task_labels(graphs, SRMMP_TASK)))
    parts = random_split(len(labelled), tuple(cfg["srmmp"]["split"]), seed + 1)
    return {"seed": seed,
            "pyridine": {"train": train.tolist(), "val": val.tolist()},
            "srmmp": dict(zip(("train", "val", "test"), (labelled[p].tolist() for p in parts)))}


def subset_seed(seed: int, k: int) -> int:
    """Seed of Table 1 model ``k`` (0-29): the subset, the initialization, the sampler, the attributions."""
    return seed * 1000 + k


def pyridine_data(graphs: Sequence, splits: dict, subset: int | None = None, size: int = 1000,
                  seed: int = 0) -> tuple[list, list]:
    """(train, val) graphs labelled with pyridine; with ``subset=k`` the training set is the k-th
    random ``size``-compound subset of the training split."""
    train_pos = np.asarray(splits["pyridine"]["train"])
    if subset is not None:
        train_pos = train_pos[random_subset(len(train_pos), size, subset_seed(seed, subset))]
    train = [graphs[i] for i in train_pos]
    val = [graphs[i] for i in splits["pyridine"]["val"]]
    return with_labels(train, pyridine_labels(train)), with_labels(val, pyridine_labels(val))


def pyridine_evaluation_set(graphs: Sequence, splits: dict) -> tuple[list, list[list[int]]]:
    """The validation molecules that contain pyridine and their ground-truth atoms."""
    val = [graphs[i] for i in splits["pyridine"]["val"]]
    chosen = [g for g in val if has_substructure(g.smiles)]
    return chosen, [pyridine_atoms(g.smiles) for g in chosen]


def srmmp_data(graphs: Sequence, splits: dict) -> dict[str, list]:
    return {part: with_labels([graphs[i] for i in pos], task_labels([graphs[i] for i in pos], SRMMP_TASK))
            for part, pos in splits["srmmp"].items()}


# =========================================================================== training

def model_kwargs(section: dict) -> dict:
    """Constructor arguments from a model section of the ``tox21`` config (binary: one output)."""
    return {"hidden_dim": section["hidden_dim"], "n_layers": section["n_layers"],
            "dropout": section["dropout"], "n_out": 1}


def _roc_metric(y, p):
    return {"roc_auc": roc_auc(y, p)}


def train_binary(model_name: str, kwargs: dict, train: list, val: list | None, epochs: int, cfg: dict,
                 seed: int, device="auto", progress=None):
    """Class-balanced training with BCE on the pre-sigmoid output (the reference recipe: Adam,
    batch 32). Returns (model, history DataFrame, TrainConfig)."""
    seed_everything(seed)  # the initialization is part of the seeded run
    model = build_model(model_name, **kwargs)
    tcfg = TrainConfig(task="binary", epochs=epochs, batch_size=cfg["batch_size"], lr=cfg["lr"],
                       seed=seed, device=device, class_balanced=True, log_every=max(1, epochs // 10))
    history = fit(model, train, val, tcfg, metric=_roc_metric if val else None, progress=progress)
    return model, pd.DataFrame(history), tcfg


def _final_roc(model, parts: dict[str, list], device) -> dict:
    out = {}
    for name, data in parts.items():
        y = np.array([float(g.y[0, 0]) for g in data])
        out[f"{name}_roc_auc"] = roc_auc(y, predict(model, data, device=device)[:, 0])
        out[f"n_{name}"] = len(data)
        out[f"n_{name}_positive"] = int(y.sum())
    return out


def train_recipe(recipe: str, graphs: Sequence, splits: dict, cfg: dict, seed: int, device="auto",
                 subset: int | None = None, progress=None) -> dict:
    """Train one of the Tox21 models.

    ``pyridine_full``: GGNN on the whole pyridine training split (paper: ROC-AUC about 0.99).
    ``pyridine_subset``: GGNN on subset ``subset`` of 1,000 compounds (Table 1).
    ``srmmp``: NFP on the SR-MMP label, train / val / test ROC-AUC.
    Returns a dict with the model, its name and kwargs, the history, the final metrics and the
    TrainConfig. The final model is the last epoch's: validation scores are reported, never used.
    """
    from ..training import resolve_device

    dev = resolve_device(device)
    if recipe in ("pyridine_full", "pyridine_subset"):
        k = subset if recipe == "pyridine_subset" else None
        if recipe == "pyridine_subset" and k is None:
            raise ValueError("recipe pyridine_subset needs subset=k")
        train, val = pyridine_data(graphs, splits, k, cfg["subset"]["size"], seed)
        name, kwargs = "ggnn", model_kwargs(cfg["ggnn"])
        epochs = cfg["subset"]["epochs"] if k is not None else cfg["full_epochs"]
        run_seed = subset_seed(seed, k) if k is not None else seed
        parts = {"train": train, "val": val}
    elif recipe == "srmmp":
        data = srmmp_data(graphs, splits)
        train, val = data["train"], data["val"]
        name, kwargs = "nfp", model_kwargs(cfg["srmmp"]["nfp"])
        epochs, run_seed, parts = cfg["srmmp"]["epochs"], seed, data
    else:
        raise ValueError(f"unknown Tox21 recipe {recipe!r}")
    model, history, tcfg = train_binary(name, kwargs, train, val, epochs, cfg, run_seed, dev, progress)
    metrics = {"recipe": recipe, "model": name, "subset": k if recipe != "srmmp" else None,
               "epochs": epochs, "seed": run_seed, **_final_roc(model, parts, dev)}
    return {"model": model, "model_name": name, "model_kwargs": kwargs, "history": history,
            "metrics": metrics, "train_config": tcfg}


# =========================================================================== pyridine attributions

def method_runs(cfg: dict) -> list[tuple[str, float]]:
    """(method, SmoothGrad sigma) pairs: the deterministic and dropout-only methods once, the noisy
    ones at every sigma of the sweep (the main sigma included)."""
    sweep = sorted(set(float(s) for s in cfg["noise_sweep"]) | {float(cfg["smoothgrad_noise"])})
    return [("vanilla", float("nan")), ("bayesgrad", float("nan"))] + [(m, s) for s in sweep for m in NOISY_METHODS]


def is_main_run(method: str, noise: float, cfg: dict) -> bool:
    return method not in NOISY_METHODS or math.isclose(noise, float(cfg["smoothgrad_noise"]))


def pyridine_attributions(model, graphs: Sequence, truth: Sequence, cfg: dict, seed: int, max_batch: int,
                          device="cpu", runs: Sequence[tuple[str, float]] | None = None):
    """Score every (method, sigma) run on the pyridine molecules.

    Returns (summary rows: method, noise, prc_auc, main; curve rows: method, noise, rate, recall,
    precision; the main runs' per-atom scores ``{method: [...], method_std: [...]}``).
    """
    runs = list(runs) if runs is not None else method_runs(cfg)
    rates = np.linspace(0.1, 1.0, cfg["n_rates"]) if cfg.get("n_rates") else DEFAULT_RATES
    summary, curves, main_scores = [], [], {}
    for method, noise in runs:
        s = atom_scores(model, graphs, [method], M=cfg["mc_samples"], signed=False,
                        noise=noise if not math.isnan(noise) else cfg["smoothgrad_noise"],
                        aggregation="square", max_batch=max_batch, seed=seed, device=device)
        res = substructure_prc_auc(s[method], truth, rates)
        main = is_main_run(method, noise, cfg)
        summary.append({"method": method, "noise": noise, "prc_auc": res["prc_auc"], "main": main})
        curves += [{"method": method, "noise": noise, "main": main, "rate": r, "recall": rc, "precision": p}
                   for r, rc, p in zip(res["rates"], res["recall"], res["precision"])]
        if main:
            main_scores.update(s)
    return pd.DataFrame(summary), pd.DataFrame(curves), main_scores


def pyridine_examples(graphs: Sequence, truth: Sequence, scores: dict, n: int, seed: int) -> list[dict]:
    """``n`` validation pyridine molecules drawn at random (seeded; not picked by how good the maps
    look) with every main method's scores and the ground truth."""
    idx = np.sort(np.random.default_rng(seed).choice(len(graphs), size=min(n, len(graphs)), replace=False))
    out = []
    for i in idx:
        rec = {"mol_id": graphs[i].mol_id, "smiles": graphs[i].smiles, "truth": list(map(int, truth[i]))}
        for key, vals in scores.items():
            rec[key] = np.asarray(vals[i]).tolist()
        out.append(rec)
    return out


def pyridine_atom_table(graphs: Sequence, truth: Sequence, scores: dict) -> pd.DataFrame:
    table = atom_table(graphs, scores)
    truth_set = {(str(g.mol_id), int(a)) for g, t in zip(graphs, truth) for a in t}
    table["truth"] = [(str(m), int(a)) in truth_set for m, a in zip(table["mol_id"], table["atom_index"])]
    return table


def ranking_bounds(graphs: Sequence, truth: Sequence, cfg: dict, seed: int, n_random: int = 20) -> dict:
    """The metric's range on these molecules: PRC-AUC of a perfect ranking (ground-truth atoms
    first), of a reversed one, and the mean over ``n_random`` uniformly random rankings. The
    un-anchored curve makes even a perfect ranking score well below 1 (see ground_truth)."""
    rates = np.linspace(0.1, 1.0, cfg["n_rates"]) if cfg.get("n_rates") else DEFAULT_RATES
    perfect = [np.isin(np.arange(g.num_nodes), t).astype(float) for g, t in zip(graphs, truth)]
    rng = np.random.default_rng(seed)
    out = {}
    for name, scores in (("perfect", perfect), ("reversed", [-p for p in perfect])):
        res = substructure_prc_auc(scores, truth, rates)
        out[name] = {"prc_auc": res["prc_auc"], "recall": res["recall"].tolist(),
                     "precision": res["precision"].tolist()}
    randoms = [substructure_prc_auc([rng.random(g.num_nodes) for g in graphs], truth, rates) for _ in range(n_random)]
    out["random"] = {"prc_auc": float(np.mean([r["prc_auc"] for r in randoms])),
                     "prc_auc_sd": float(np.std([r["prc_auc"] for r in randoms])),
                     "recall": np.mean([r["recall"] for r in randoms], 0).tolist(),
                     "precision": np.mean([r["precision"] for r in randoms], 0).tolist()}
    out["n_molecules"] = len(graphs)
    out["rates"] = rates.tolist()
    return out


# =========================================================================== Table 1

def table1(prc: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd (population sd, ``ddof=0``, as the paper's code computes it) of PRC-AUC per
    method over models, beside the paper's numbers."""
    main = prc[prc["main"].astype(bool)]
    rows = []
    for method in TOX21_METHODS:
        v = main.loc[main["method"] == method, "prc_auc"].to_numpy(float)
        pm, ps = PAPER_TABLE1[method]
        rows.append({"method": method, "name": METHOD_NAMES[method], "n_models": len(v),
                     "mean": float(v.mean()), "sd": float(v.std(ddof=0)),
                     "sd_ddof1": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                     "paper_mean": pm, "paper_sd": ps, "diff": float(v.mean() - pm)})
    return pd.DataFrame(rows)


def wilcoxon_table(prc: pd.DataFrame, reference: str = "bayesgrad") -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests of ``reference`` against every other method over models."""
    main = prc[prc["main"].astype(bool)].pivot_table(index="seed", columns="method", values="prc_auc")
    rows = []
    for other in TOX21_METHODS:
        if other == reference:
            continue
        res = paired_wilcoxon(main[reference].to_numpy(), main[other].to_numpy())
        rows.append({"method": reference, "versus": other, **res})
    return pd.DataFrame(rows)


def noise_sweep_table(prc: pd.DataFrame) -> pd.DataFrame:
    noisy = prc[prc["method"].isin(NOISY_METHODS)]
    g = noisy.groupby(["method", "noise"])["prc_auc"]
    return g.agg(mean="mean", sd=lambda v: float(np.std(v, ddof=0)), n_models="count").reset_index()


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    main = curves[curves["main"].astype(bool)]
    return (main.groupby(["method", "rate"]).agg(recall=("recall", "mean"), precision=("precision", "mean"),
                                                  recall_sd=("recall", "std"), precision_sd=("precision", "std"))
            .reset_index())


# =========================================================================== SR-MMP maps

def key_oxygen(smiles: str) -> int | None:
    """Index of the O on a 2,6-di-tert-butylphenyl ring (phenolic OH or its methyl ether), if any."""
    mol = Chem.MolFromSmiles(smiles)
    match = mol.GetSubstructMatch(Chem.MolFromSmarts(HINDERED_OXYGEN_SMARTS))
    return int(match[0]) if match else None


def similar_phenols(graphs: Sequence, splits: dict, smarts: str, n: int) -> list[dict]:
    """``n`` SR-MMP-positive Tox21 compounds matching ``smarts``, test split first, then val, then
    train, each in file order (a fixed rule, so the examples are not picked by their maps)."""
    pattern = Chem.MolFromSmarts(smarts)
    labels = task_labels(graphs, SRMMP_TASK)
    found = []
    for part in ("test", "val", "train"):
        for i in splits["srmmp"][part]:
            g = graphs[i]
            if labels[i] == 1 and Chem.MolFromSmiles(g.smiles).HasSubstructMatch(pattern):
                found.append({"name": g.mol_id, "smiles": g.smiles, "source": f"Tox21 {part} split, SR-MMP = 1"})
            if len(found) == n:
                return found
    return found


def srmmp_maps(model, molecules: Sequence[dict], cfg: dict, seed: int, max_batch: int, device="cpu") -> list[dict]:
    """BayesGrad maps (squared gradient, mean over M dropout samples: the paper's and Table 1's score)
    with their per-atom sd, and the rank and share of the hindered-phenol oxygen. ``molecules``:
    dicts with name, smiles, source.

    The oxygen's rank is also given for VanillaGrad and for the signed input x gradient (BayesGrad
    section 2.4, baseline 0) with and without dropout, so the report can say whether the result
    depends on the score; the maps and the pass/fail criterion use the squared BayesGrad only.
    """
    graphs = graphs_from_smiles([m["smiles"] for m in molecules])
    M = cfg["mc_samples"]
    scores = atom_scores(model, graphs, ["bayesgrad", "vanilla"], M=M, signed=False, aggregation="square",
                         max_batch=max_batch, seed=seed, device=device)
    signed = atom_scores(model, graphs, ["bayesgrad", "vanilla"], M=M, signed=True, aggregation="raw",
                         max_batch=max_batch, seed=seed, device=device)
    prob = 1 / (1 + np.exp(-predict(model, graphs, device=device)[:, 0]))
    mc_mean, mc_std = mc_dropout_predictions(model, graphs, M=M, seed=seed, device=device)
    records = []
    for i, mol in enumerate(molecules):
        s = np.asarray(scores["bayesgrad"][i])
        o = key_oxygen(mol["smiles"])
        rec = {**mol, "probability": float(prob[i]), "logit_mc_mean": float(mc_mean[i, 0]),
               "logit_mc_sd": float(mc_std[i, 0]), "n_atoms": len(s), "oxygen": o,
               "bayesgrad": s.tolist(), "bayesgrad_std": np.asarray(scores["bayesgrad_std"][i]).tolist(),
               "vanilla": np.asarray(scores["vanilla"][i]).tolist()}
        if o is not None:
            rec.update(oxygen_rank=atom_rank(s, o), oxygen_share=float(s[o] / s.sum()) if s.sum() > 0 else float("nan"),
                       oxygen_over_max=float(s[o] / s.max()) if s.max() > 0 else float("nan"),
                       oxygen_rank_vanilla=atom_rank(scores["vanilla"][i], o),
                       oxygen_rank_signed_bayesgrad=atom_rank(signed["bayesgrad"][i], o),
                       oxygen_rank_signed_vanilla=atom_rank(signed["vanilla"][i], o),
                       oxygen_signed_bayesgrad=float(signed["bayesgrad"][i][o]))
        records.append(rec)
    return records


# =========================================================================== integrated gradients

def ig_molecule_sets(graphs: Sequence, splits: dict, which: str, cfg: dict) -> tuple[list, list]:
    """(actives for the saturation plot, molecules for the completeness histogram) of held-out data:
    ``srmmp``: SR-MMP test molecules (actives: SR-MMP = 1); ``pyridine``: validation molecules
    (actives: containing pyridine). Both in file order; ``cfg`` is the integrated_gradients section."""
    if which == "srmmp":
        held_out = srmmp_data(graphs, splits)["test"]
        actives = [g for g in held_out if float(g.y[0, 0]) == 1.0]
    elif which == "pyridine":
        val = [graphs[i] for i in splits["pyridine"]["val"]]
        held_out = with_labels(val, pyridine_labels(val))
        actives = [g for g in held_out if float(g.y[0, 0]) == 1.0]
    else:
        raise ValueError(f"unknown molecule set {which!r}")
    return actives[: cfg["n_saturation"]], held_out[: cfg["n_molecules"]]


def integrated_gradients_study(model, graphs: Sequence, steps: int, n_path: int, max_batch: int, seed: int = 0,
                               device="cpu", chunk: int = 64,
                               label: str = "") -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """IG on the atom embedding (baseline: zero embedding, trapezoid rule on ``steps`` points from
    alpha = 0 to 1) for every graph.

    Returns (completeness rows per molecule: F(x), F(0), sum of attributions, absolute and relative
    error; path rows for the first ``n_path`` graphs: alpha, logit, probability, dF/dalpha (the
    integrand, sum over atoms of x . grad F(alpha x)) and the gradient norm; per-graph per-atom
    attributions summed over channels).
    """
    model = model.to(device).eval()
    ig = IntegratedGradients(model, target=model.embedding, baseline=0.0, steps=steps, rule="trapezoid",
                             keep_grads=True, max_batch=max_batch)
    comp, path, attributions = [], [], []
    for start in range(0, len(graphs), chunk):
        part = list(graphs[start:start + chunk])
        batch = Batch.from_data_list(part).to(device)
        samples, res = ig.compute(batch, return_path=True, seed=seed)
        attr = samples[0].sum(-1).cpu().numpy()
        bounds = np.cumsum([0] + [g.num_nodes for g in part])
        attributions += [attr[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        for j, g in enumerate(part):
            comp.append({"model": label, "mol_id": getattr(g, "mol_id", str(start + j)), "smiles": g.smiles,
                         "score": float(res.score[j]), "baseline_score": float(res.baseline_score[j]),
                         "attribution_sum": float(res.attribution_sum[j]), "abs_error": float(res.abs_error[j]),
                         "rel_error": float(res.rel_error[j])})
        todo = [j for j in range(len(part)) if start + j < n_path]
        if todo:
            with torch.no_grad():
                x = model.embedding(batch.x.view(-1))
            grads = res.interior_grads  # (steps, n_nodes, hidden)
            dfda = (grads * x.unsqueeze(0)).sum(-1)  # (steps, n_nodes)
            gsq = (grads ** 2).sum(-1)
            node_graph = batch.batch
            for j in todo:
                sel = node_graph == j
                for k, alpha in enumerate(res.alphas.tolist()):
                    logit = float(res.path_scores[k, j])
                    path.append({"model": label, "mol_id": getattr(part[j], "mol_id", str(start + j)),
                                 "alpha": alpha, "logit": logit, "probability": 1 / (1 + math.exp(-logit)),
                                 "dlogit_dalpha": float(dfda[k, sel].sum()),
                                 "grad_norm": float(gsq[k, sel].sum().sqrt())})
    return pd.DataFrame(comp), pd.DataFrame(path), attributions


def integrated_gradients_runs(models: Sequence[tuple[str, str, object]], graphs: Sequence, splits: dict,
                              cfg: dict, max_batch: int, seed: int, device="cpu") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The IG study of each ``(which, label, model)``: completeness over the molecule set of
    ``which`` ("srmmp" or "pyridine") and the scaling path of its actives.

    Returns (completeness rows, path rows) of all models, each row tagged with the model's label.
    """
    completeness, paths = [], []
    for which, label, model in models:
        actives, molecules = ig_molecule_sets(graphs, splits, which, cfg)
        comp, _, _ = integrated_gradients_study(model, molecules, cfg["steps"], 0, max_batch, seed, device,
                                                label=label)
        _, path_rows, _ = integrated_gradients_study(model, actives, cfg["steps"], len(actives), max_batch, seed,
                                                     device, label=label)
        completeness.append(comp)
        paths.append(path_rows)
    return pd.concat(completeness, ignore_index=True), pd.concat(paths, ignore_index=True)


def saturation_summary(path: pd.DataFrame, tail: float = 0.9) -> pd.DataFrame:
    """Per model: the share of the probability and logit change F(x) - F(0) made over alpha in
    [tail, 1] (a path without saturation makes about 1 - tail of it there), and the gradient
    norm at the input relative to its maximum along the path."""
    rows = []
    for (model, mol), g in path.groupby(["model", "mol_id"]):
        g = g.sort_values("alpha")
        row = {"model": model, "mol_id": mol}
        for col in ("probability", "logit"):
            v = g[col].to_numpy()
            total = v[-1] - v[0]
            v_tail = np.interp(tail, g["alpha"], v)
            row[f"{col}_tail_share"] = float((v[-1] - v_tail) / total) if total != 0 else float("nan")
        gn = g["grad_norm"].to_numpy()
        row["grad_norm_at_input_over_max"] = float(gn[-1] / gn.max()) if gn.max() > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- dead features

def _build_dead_feature_model(name: str, n_layers: int, section: dict) -> nn.Module:
    return build_model(name, hidden_dim=section["hidden_dim"], n_layers=n_layers, dropout=section["dropout"], n_out=1)


def atom_keys(g) -> list[tuple]:
    """What a one-layer Weave network sees of each atom: its type and the count of each bond type."""
    counts = np.zeros((g.num_nodes, N_BOND_TYPES), dtype=int)
    np.add.at(counts, (g.edge_index[1].numpy(), g.edge_attr.view(-1).numpy()), 1)
    return [(int(z),) + tuple(int(c) for c in row) for z, row in zip(g.x.view(-1).tolist(), counts)]


def stable_colors(g) -> list[int]:
    """Weisfeiler-Lehman colour refinement of the labelled graph (atom types, bond types) until it
    is stable. Atoms with the same stable colour are indistinguishable by any message-passing
    network on these inputs (symmetric atoms, for instance), so they get equal attributions at any
    depth and are left out of the dead-features comparison."""
    src, dst = g.edge_index.tolist()
    bond = g.edge_attr.view(-1).tolist()
    colors = [int(z) for z in g.x.view(-1).tolist()]
    n_colors = len(set(colors))
    while True:
        neigh = [[] for _ in colors]
        for s, d, b in zip(src, dst, bond):
            neigh[d].append((b, colors[s]))
        signature = [(c, tuple(sorted(nb))) for c, nb in zip(colors, neigh)]
        index = {sig: k for k, sig in enumerate(sorted(set(signature)))}
        new = [index[sig] for sig in signature]
        if len(index) == n_colors:
            return new
        colors, n_colors = new, len(index)


def dead_feature_pairs(graphs: Sequence, attributions: Sequence[np.ndarray], rel_tol: float) -> pd.DataFrame:
    """Every pair of atoms in the same molecule with the same type and bond counts but different
    stable colours, with whether their attributions are identical (within ``rel_tol`` of the
    molecule's largest |attribution|)."""
    rows = []
    for g, attr in zip(graphs, attributions):
        keys, colors = atom_keys(g), stable_colors(g)
        scale = float(np.max(np.abs(attr))) or 1.0
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                if keys[i] == keys[j] and colors[i] != colors[j]:
                    diff = abs(float(attr[i]) - float(attr[j])) / scale
                    rows.append({"mol_id": g.mol_id, "i": i, "j": j, "rel_diff": diff, "identical": diff <= rel_tol})
    return pd.DataFrame(rows, columns=["mol_id", "i", "j", "rel_diff", "identical"])


def dead_features_study(graphs: Sequence, splits: dict, cfg: dict, seed: int, max_batch: int, device="cpu",
                        progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train each model of ``cfg['dead_features']['models']`` at each depth on the first Table 1
    subset, attribute validation pyridine molecules with IG, and measure how often atoms a one-layer
    Weave network cannot tell apart get identical attributions.

    Returns (summary per model and depth, per-pair rows).
    """
    section = cfg["dead_features"]
    train, _ = pyridine_data(graphs, splits, 0, cfg["subset"]["size"], seed)
    eval_graphs, _ = pyridine_evaluation_set(graphs, splits)
    eval_graphs = eval_graphs[: section["n_molecules"]]
    summary, pairs = [], []
    for name in section["models"]:
        for n_layers in section["layers"]:
            seed_everything(subset_seed(seed, 0))
            model = _build_dead_feature_model(name, n_layers, section)
            tcfg = TrainConfig(task="binary", epochs=section["epochs"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                               seed=subset_seed(seed, 0), device=device, class_balanced=True,
                               log_every=max(1, section["epochs"]))
            fit(model, train, None, tcfg, progress=progress)
            comp, _, attr = integrated_gradients_study(model, eval_graphs, section["ig_steps"], 0, max_batch,
                                                       seed, device, label=f"{name}{n_layers}")
            p = dead_feature_pairs(eval_graphs, attr, section["rel_tol"])
            p.insert(0, "n_layers", n_layers)
            p.insert(0, "model", name)
            pairs.append(p)
            summary.append({"model": name, "n_layers": n_layers, "n_molecules": len(eval_graphs),
                            "n_pairs": len(p),
                            "fraction_identical": float(p["identical"].mean()) if len(p) else float("nan"),
                            "median_rel_diff": float(p["rel_diff"].median()) if len(p) else float("nan"),
                            "ig_median_rel_error": float(comp["rel_error"].median())})
    return pd.DataFrame(summary), pd.concat(pairs, ignore_index=True)


# =========================================================================== reproduction table

def _fmt(mean: float, sd: float) -> str:
    return f"{mean:.3f}±{sd:.3f}"


def reproduction_rows(table: pd.DataFrame, wilcoxon: pd.DataFrame, full: dict, srmmp: dict, maps: list[dict],
                      completeness: pd.DataFrame, saturation: pd.DataFrame, dead: pd.DataFrame,
                      scale: str) -> pd.DataFrame:
    """Rows of the report's reproduction table for the Tox21 experiments (experiment names start
    with "Tox21" so the report matches them to the DESIGN.md targets)."""
    rows = []

    def add(source, experiment, paper, ours, criterion, ok, note=""):
        rows.append({"source": source, "experiment": experiment, "paper": paper, "ours": ours,
                     "criterion": criterion, "reproduced": None if ok is None else bool(ok), "scale": scale,
                     "note": note})

    n = int(table["n_models"].iloc[0])
    for _, r in table.iterrows():
        add("BayesGrad", f"Tox21 pyridine PRC-AUC {r['name']} ({n} GGNN models, Table 1)",
            _fmt(r["paper_mean"], r["paper_sd"]), _fmt(r["mean"], r["sd"]),
            "|mean - paper| <= paper sd", abs(r["diff"]) <= r["paper_sd"],
            f"difference {r['diff']:+.3f}")
    for _, w in wilcoxon.iterrows():
        claimed_higher = w["versus"] in ("vanilla", "smoothgrad")
        paper_claim = ("BayesGrad statistically higher" if claimed_higher
                       else "BayesSmoothGrad did not improve on BayesGrad")
        ok = (w["mean_diff"] > 0 and w["pvalue"] < 0.05) if claimed_higher else w["mean_diff"] >= 0
        add("BayesGrad", f"Tox21 pyridine Table 1: BayesGrad vs {METHOD_NAMES[w['versus']]} (paired Wilcoxon)",
            paper_claim, f"diff {w['mean_diff']:+.3f}, p = {w['pvalue']:.2g}, higher in {w['n_a_higher']}/{w['n']}",
            "mean diff > 0 and p < 0.05" if claimed_higher else "mean diff >= 0", ok)
    for part in ("train", "val"):
        v = full[f"{part}_roc_auc"]
        add("BayesGrad", f"Tox21 pyridine, full training set: {'validation' if part == 'val' else 'train'} ROC-AUC",
            "≈ 0.99", round(v, 4), ">= 0.98", v >= 0.98, f"GGNN, {full['epochs']} epochs, n = {full[f'n_{part}']}")
    add("BayesGrad", "Tox21 SR-MMP NFP test ROC-AUC", "value not legible in our copy of the paper",
        round(srmmp["test_roc_auc"], 4), ">= 0.80 (typical for graph models on SR-MMP)", srmmp["test_roc_auc"] >= 0.80,
        f"n_test = {srmmp['n_test']} ({srmmp['n_test_positive']} positive)")
    by_name = {m["name"]: m for m in maps}
    ty, me = by_name.get("Tyrphostin 9"), by_name.get("Tyrphostin 9 O-methyl")
    if ty is not None:
        add("BayesGrad", "Tox21 SR-MMP NFP: Tyrphostin 9 phenolic O highlighted (Fig. 3a)", "highlighted",
            f"rank {ty['oxygen_rank']} of {ty['n_atoms']}, {ty['oxygen_share']:.1%} of the map",
            "rank <= 3", ty["oxygen_rank"] <= 3,
            f"BayesGrad, squared gradient; rank with signed input x gradient: BayesGrad "
            f"{ty['oxygen_rank_signed_bayesgrad']}, without dropout {ty['oxygen_rank_signed_vanilla']}")
    if me is not None:
        add("BayesGrad", "Tox21 SR-MMP NFP: O-methyl Tyrphostin 9 ether O not highlighted (Fig. 3b)", "not highlighted",
            f"rank {me['oxygen_rank']} of {me['n_atoms']}, {me['oxygen_share']:.1%} of the map",
            "rank > 3", me["oxygen_rank"] > 3,
            f"signed input x gradient: BayesGrad rank {me['oxygen_rank_signed_bayesgrad']}, "
            f"without dropout {me['oxygen_rank_signed_vanilla']}")
    others = [m for m in maps if m["name"] not in ("Tyrphostin 9", "Tyrphostin 9 O-methyl")]
    if others:
        ranks = [m["oxygen_rank"] for m in others]
        add("BayesGrad", "Tox21 SR-MMP NFP: phenolic O of Tox21 hindered phenols highlighted (Fig. 3c,d)",
            "highlighted",
            ", ".join(f"{m['name']}: rank {m['oxygen_rank']}/{m['n_atoms']}" for m in others),
            "rank <= 3 in each", all(r <= 3 for r in ranks),
            "signed input x gradient ranks (BayesGrad / without dropout): "
            + ", ".join(f"{m['name']}: {m['oxygen_rank_signed_bayesgrad']} / {m['oxygen_rank_signed_vanilla']}"
                        for m in others))
    for model, g in completeness.groupby("model"):
        med, q95 = g["rel_error"].median(), g["rel_error"].quantile(0.95)
        add("counterfactuals", f"Tox21 {model}: atom IG sums to F(x) - F(0) (completeness)", "sums to the prediction",
            f"median rel. error {med:.2%}, 95th pct {q95:.2%} (n = {len(g)})", "median < 1%", med < 0.01)
    for model, g in saturation.groupby("model"):
        share = g["probability_tail_share"].median()
        add("counterfactuals", f"Tox21 {model}: saturation near the input, 25 actives",
            "saturation in 0.9 <= alpha <= 1",
            f"median share of the probability change over alpha in [0.9, 1]: {share:.1%}",
            "< 10% (a linear path gives 10%)", share < 0.10)
    if len(dead):
        w = dead[dead["model"] == "weave"].set_index("n_layers")["fraction_identical"]
        gg = dead[dead["model"] == "ggnn"].set_index("n_layers")["fraction_identical"]
        if len(w):
            one, deeper = w.get(1, float("nan")), w[w.index >= 2]
            add("counterfactuals",
                "Tox21 dead features: one convolution layer gives identical attributions to same-type same-bond atoms",
                "identical with 1 layer, not with >= 2",
                f"Weave-style: identical pairs {one:.0%} (1 layer), "
                + ", ".join(f"{v:.0%} ({k} layers)" for k, v in deeper.items())
                + ("; GGNN: " + ", ".join(f"{v:.0%} ({k} steps)" for k, v in gg.items()) if len(gg) else ""),
                "1 layer: 100%; >= 2 layers: < 50%", one == 1.0 and bool((deeper < 0.5).all()),
                "GGNN messages carry the neighbour's atom state, so even one step separates these atoms")
    return pd.DataFrame(rows)
