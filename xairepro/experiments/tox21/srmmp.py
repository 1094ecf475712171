"""Tox21 SR-MMP study (BayesGrad 4.2, Fig. 3): BayesGrad maps of Tyrphostin 9, its O-methyl
derivative and Tox21 compounds with the same hindered phenol, each with the per-atom standard
deviation across the M samples, and the rank of the hindered-phenol oxygen; across seeds, the
oxygen's rank per seed and method and the seed whose model the figure shows (the median rank)."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from rdkit import Chem

from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...evaluation.ground_truth import atom_rank
from ...training import predict
from ..graphs import atom_scores, mc_dropout_predictions
from .data import SRMMP_TASK, task_labels


def key_oxygen(smiles: str, oxygen_smarts: str) -> int | None:
    """Index of the oxygen that ``oxygen_smarts`` matches first (the phenolic OH or its methyl ether
    on a 2,6-di-tert-butylphenyl ring), if any."""
    match = Chem.MolFromSmiles(smiles).GetSubstructMatch(Chem.MolFromSmarts(oxygen_smarts))
    return int(match[0]) if match else None


def _is_free_phenol(mol, oxygen_smarts: str) -> bool:
    pattern = Chem.MolFromSmarts(oxygen_smarts)
    return any(mol.GetAtomWithIdx(m[0]).GetTotalNumHs() == 1 for m in mol.GetSubstructMatches(pattern))


def similar_phenols(graphs: Sequence, splits: dict, oxygen_smarts: str, n: int) -> list[dict]:
    """``n`` SR-MMP-positive Tox21 compounds whose ``oxygen_smarts`` oxygen is a free OH, test split
    first, then val, then train, each in file order (a fixed rule, so the examples are not picked by
    their maps)."""
    labels = task_labels(graphs, SRMMP_TASK)
    found = []
    for part in ("test", "val", "train"):
        for i in splits["srmmp"][part]:
            g = graphs[i]
            if labels[i] == 1 and _is_free_phenol(Chem.MolFromSmiles(g.smiles), oxygen_smarts):
                found.append({"name": g.mol_id, "smiles": g.smiles, "source": f"Tox21 {part} split, SR-MMP = 1"})
            if len(found) == n:
                return found
    return found


def srmmp_maps(model, molecules: Sequence[dict], *, mc_samples: int, oxygen_smarts: str,
               ctx: RunContext) -> list[dict]:
    """BayesGrad maps (squared gradient, mean over M dropout samples: the paper's and Table 1's score)
    with their per-atom sd, and the rank and share of the hindered-phenol oxygen. ``molecules``:
    dicts with name, smiles, source.

    The oxygen's rank is also given for VanillaGrad and for the signed input x gradient (BayesGrad
    section 2.4, baseline 0) with and without dropout, so the report can say whether the result
    depends on the score; the maps and the pass/fail criterion use the squared BayesGrad only.
    """
    device, seed, max_batch, M = ctx.torch_device, ctx.seed, ctx.max_batch, mc_samples
    graphs = graphs_from_smiles([m["smiles"] for m in molecules])
    scores = atom_scores(model, graphs, ["bayesgrad", "vanilla"], M=M, signed=False, aggregation="square",
                         max_batch=max_batch, seed=seed, device=device)
    signed = atom_scores(model, graphs, ["bayesgrad", "vanilla"], M=M, signed=True, aggregation="raw",
                         max_batch=max_batch, seed=seed, device=device)
    prob = 1 / (1 + np.exp(-predict(model, graphs, device=device)[:, 0]))
    mc_mean, mc_std = mc_dropout_predictions(model, graphs, M=M, seed=seed, device=device)
    records = []
    for i, mol in enumerate(molecules):
        s = np.asarray(scores["bayesgrad"][i])
        o = key_oxygen(mol["smiles"], oxygen_smarts)
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


#: Fig. 3 across seeds: the per-seed oxygen ranks of each method, keyed by the maps' fields.
RANK_METHODS = {"bayesgrad": "oxygen_rank", "vanilla": "oxygen_rank_vanilla",
                "signed_bayesgrad": "oxygen_rank_signed_bayesgrad", "signed_vanilla": "oxygen_rank_signed_vanilla"}


def seed_ranks(maps_by_seed: dict[int, list[dict]]) -> pd.DataFrame:
    """One row per seed, molecule and method: the key oxygen's rank (1 = highest score) and the
    molecule's atom count. Methods: squared BayesGrad and VanillaGrad, signed input x gradient with
    dropout sampling (signed_bayesgrad) and without (signed_vanilla)."""
    rows = []
    for seed, maps in sorted(maps_by_seed.items()):
        for m in maps:
            if m.get("oxygen_rank") is None:
                continue
            rows += [{"seed": int(seed), "molecule": m["name"], "method": method, "rank": int(m[key]),
                      "n_atoms": int(m["n_atoms"]), "probability": float(m["probability"])}
                     for method, key in RANK_METHODS.items()]
    return pd.DataFrame(rows)


def median_rank_seed(ranks: pd.DataFrame, molecule: str, method: str = "bayesgrad") -> int:
    """The seed whose ``molecule`` oxygen rank under ``method`` is the median over seeds (lower
    median for an even count; seeds sorted by rank, then seed number) -- the model whose maps the
    figure shows."""
    r = ranks[(ranks["molecule"] == molecule) & (ranks["method"] == method)].sort_values(["rank", "seed"])
    if r.empty:
        raise ValueError(f"no ranks for {molecule!r} / {method!r}")
    return int(r["seed"].iloc[(len(r) - 1) // 2])


def top_rank_counts(ranks: pd.DataFrame, top: int) -> pd.DataFrame:
    """Per molecule and method: seeds, seeds with the oxygen in the top ``top``, median rank."""
    g = ranks.groupby(["molecule", "method"])
    return g.agg(n_seeds=("seed", "nunique"), n_top=("rank", lambda v: int((v <= top).sum())),
                 median_rank=("rank", "median"), min_rank=("rank", "min"), max_rank=("rank", "max"),
                 n_atoms=("n_atoms", "first")).reset_index()


def gather_seeds(maps_by_seed: dict[int, list[dict]], metrics_by_seed: dict[int, dict], molecule: str,
                 top: int) -> tuple[pd.DataFrame, pd.DataFrame, list[dict], dict]:
    """Fig. 3 across seeds: (ranks per seed, molecule and method; counts of seeds with the oxygen in
    the top ``top``; the maps of the model whose ``molecule`` rank is the median; that model's metrics
    with every seed's ROC-AUC)."""
    ranks = seed_ranks(maps_by_seed)
    chosen = median_rank_seed(ranks, molecule)
    per_seed = [{"seed": s, **{k: m[k] for k in ("train_roc_auc", "val_roc_auc", "test_roc_auc")}}
                for s, m in metrics_by_seed.items()]
    metrics = dict(metrics_by_seed[chosen], seed=chosen, median_rank_molecule=molecule, seeds=per_seed)
    return ranks, top_rank_counts(ranks, top), [dict(m, seed=chosen) for m in maps_by_seed[chosen]], metrics
