"""Character attributions of SMILES2vec, the paper's top-3 check, and atom maps.

Methods, each one score per character: the mask weight; integrated gradients at the character
embeddings (zero baseline = the padding embedding), summed over channels, its magnitude ranking;
BayesGrad (gradients at the embeddings under MC dropout, squared and summed over channels); and a
seeded uniform random score. Top-3: the three highest-scoring characters of a molecule (padding
excluded); a molecule scores a hit when one of them spells an O or N atom (soluble, log S >= the
soluble threshold) or a C, F, Cl, Br or I atom (insoluble, log S <= the insoluble threshold);
``top3_fraction`` is the stricter share of the three that do. Atom maps give each atom the
score of largest magnitude among its characters.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import BayesGrad, IntegratedGradients, aggregate
from ...context import RunContext
from .data import SmilesData
from ...progress import progress

__all__ = ["METHODS", "TARGET_ATOMS", "character_scores", "top3_table", "top3_summary", "atom_scores"]

METHODS = ("mask", "integrated_gradients", "bayesgrad", "random")
TARGET_ATOMS = {"soluble": {"O", "N"}, "insoluble": {"C", "F", "Cl", "Br", "I"}}


def solubility_class(y: np.ndarray, soluble: float, insoluble: float) -> np.ndarray:
    return np.where(y >= soluble, "soluble", np.where(y <= insoluble, "insoluble", ""))


def character_scores(model, mask_weights: np.ndarray, tokens: np.ndarray, attribution: Mapping, *,
                     ctx: RunContext) -> dict[str, np.ndarray]:
    """(N, T) per-character scores of every method for the molecules ``tokens``; larger = more important."""
    device = ctx.torch_device
    model = model.to(device).eval()
    ig = IntegratedGradients(model, target=model.embedding, baseline=0.0, steps=int(attribution["ig_steps"]),
                             max_batch=ctx.max_batch)
    bg = BayesGrad(model, target=model.embedding, max_batch=ctx.max_batch)
    chunk = max(1, ctx.max_batch // max(int(attribution["ig_steps"]) + 2, int(attribution["mc_samples"])))
    ig_parts, bg_parts, errors = [], [], []
    for k, start in enumerate(progress(range(0, len(tokens), chunk), "attribution chunks", unit="chunk")):
        t = torch.as_tensor(tokens[start:start + chunk], device=device)
        ig_parts.append(ig.compute(t, seed=ctx.child(k).seed)[0].sum(-1).cpu())
        errors.append(ig.last_result.rel_error.cpu())
        samples = bg.compute(t, M=int(attribution["mc_samples"]), seed=ctx.child(k).seed)
        bg_parts.append(aggregate(samples, method="square", channel_axis=-1).cpu())
    rng = np.random.default_rng(ctx.seed)
    scores = {"mask": np.asarray(mask_weights, dtype=float),
              "integrated_gradients": torch.cat(ig_parts).numpy().astype(float),
              "bayesgrad": torch.cat(bg_parts).numpy().astype(float),
              "random": rng.random(tokens.shape)}
    scores["ig_rel_error"] = torch.cat(errors).numpy()
    return scores


def _ranking(method: str, values: np.ndarray) -> np.ndarray:
    """Score used to rank characters: magnitudes for the signed integrated gradients."""
    return np.abs(values) if method == "integrated_gradients" else values


def top3_table(data: SmilesData, idx, scores: Mapping[str, np.ndarray], thresholds: Mapping) -> pd.DataFrame:
    """One row per (molecule in a solubility class, method): the top-3 characters, their atoms, hit."""
    from rdkit import Chem

    idx = np.asarray(idx)
    classes = solubility_class(data.y[idx], float(thresholds["soluble"]), float(thresholds["insoluble"]))
    rows = []
    for r, (i, cls) in enumerate(zip(idx, classes)):
        if not cls:
            continue
        mol = Chem.MolFromSmiles(data.smiles[i])
        chars = np.flatnonzero(data.tokens[i] != data.pad_id)
        for method in METHODS:
            rank = _ranking(method, scores[method][r][chars])
            top = chars[np.argsort(-rank, kind="stable")[:3]]
            elems = [mol.GetAtomWithIdx(int(a)).GetSymbol() if a >= 0 else "" for a in data.atoms[i][top]]
            ok = [e in TARGET_ATOMS[cls] for e in elems]
            rows.append({"molecule": int(i), "smiles": data.smiles[i], "log_s": float(data.y[i]), "class": cls,
                         "method": method, "top3_chars": "".join(data.vocab[t] for t in data.tokens[i][top]),
                         "top3_atoms": " ".join(e or "-" for e in elems), "hit": bool(any(ok)),
                         "top3_fraction": float(np.mean(ok)),
                         "has_target_atom": bool(any(a.GetSymbol() in TARGET_ATOMS[cls] for a in mol.GetAtoms()))})
    return pd.DataFrame(rows)


def top3_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Top-3 accuracy per method, overall and per class."""
    out = []
    for method, sub in table.groupby("method", sort=False):
        row = {"method": method, "n": len(sub), "top3_accuracy": float(sub["hit"].mean()),
               "top3_fraction": float(sub["top3_fraction"].mean())}
        for cls in ("soluble", "insoluble"):
            part = sub[sub["class"] == cls]
            row[f"{cls}_n"] = len(part)
            row[f"{cls}_accuracy"] = float(part["hit"].mean()) if len(part) else float("nan")
        out.append(row)
    return pd.DataFrame(out)


def atom_scores(data: SmilesData, i: int, per_char: np.ndarray) -> list[float]:
    """Each atom's character score of largest magnitude, signed (a two-letter or bracket atom has several)."""
    from rdkit import Chem

    n_atoms = Chem.MolFromSmiles(data.smiles[i]).GetNumAtoms()
    out = np.zeros(n_atoms)
    for pos, atom in enumerate(data.atoms[i]):
        if atom >= 0 and abs(per_char[pos]) > abs(out[atom]):
            out[atom] = float(per_char[pos])
    return out.tolist()


def selected_molecules(data: SmilesData, split: str, thresholds: Mapping) -> np.ndarray:
    """The molecules that are explained: every soluble or insoluble one, and the test molecules."""
    cls = solubility_class(data.y, float(thresholds["soluble"]), float(thresholds["insoluble"]))
    return np.union1d(np.flatnonzero(cls != ""), np.asarray(data.splits[split]["test"], dtype=int))


def map_records(data: SmilesData, idx, scores: Mapping[str, np.ndarray], thresholds: Mapping, n_maps: int,
                split: str) -> list[dict]:
    """Atom scores (mask and integrated gradients) of the first ``n_maps // 2`` soluble and insoluble
    test molecules, for the atom-map figure."""
    idx = list(np.asarray(idx))
    test = [i for i in data.splits[split]["test"] if i in set(idx)]
    cls = solubility_class(data.y[test], float(thresholds["soluble"]), float(thresholds["insoluble"]))
    chosen = []
    for c in ("soluble", "insoluble"):
        chosen += [i for i, k in zip(test, cls) if k == c][: n_maps // 2]
    records = []
    for i in chosen:
        r = idx.index(i)
        records.append({"molecule": int(i), "smiles": data.smiles[i], "log_s": float(data.y[i]),
                        "class": str(solubility_class(data.y[[i]], float(thresholds["soluble"]),
                                                      float(thresholds["insoluble"]))[0]),
                        "mask": atom_scores(data, i, scores["mask"][r]),
                        "integrated_gradients": atom_scores(data, i, scores["integrated_gradients"][r])})
    return records
