"""Tox21 SR-MMP study (BayesGrad 4.2, Fig. 3): BayesGrad maps of Tyrphostin 9, its O-methyl
derivative and Tox21 compounds with the same hindered phenol, each with the per-atom standard
deviation across the M samples, and the rank of the hindered-phenol oxygen."""
from __future__ import annotations

from typing import Sequence

import numpy as np
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
