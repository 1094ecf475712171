"""Character attributions of SMILES2vec, the paper's top-3 check, and atom maps.

Every method the config names (``attribution.methods``, canonical names) explains the predicted
log S at the character embeddings with the section's Explainer (:func:`~.settings.explainer`: zero
baseline = the padding embedding, the trained mask network as the ``explanation_mask`` method,
``method_options.integrated_gradients.n_steps`` midpoints, BayesGrad and SmoothGrad drawing
``mc_samples``). A character's score is the sum over the embedding channels of the
attribution (a :class:`~xairepro.evaluation.units.TokenUnit` named ``character``), after the
elementwise ``aggregation`` (``raw``; ``method_options.<name>.aggregation`` changes it per method:
the config reads the gradient-only methods as squared gradients, BayesGrad Table 1's reading).

The top-3 check and the faithfulness study rank characters by the config's ``ranking``, the same
for every method: ``abs`` ranks by magnitude (integrated gradients are signed; the mask weights and
squared gradients are not, so ``abs`` leaves them as they are), ``signed`` by the signed score.
Top-3: the three highest-ranked characters of a molecule (padding excluded); a molecule scores a hit
when one of them spells an O or N atom (soluble, log S >= the soluble threshold) or a C, F, Cl, Br
or I atom (insoluble, log S <= the insoluble threshold); ``top3_fraction`` is the stricter share of
the three that do. Atom maps give each atom the signed score of largest magnitude among its
characters.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...evaluation.units import Unit
from ..explainer import applicable
from .data import SmilesData
from .settings import unit

__all__ = ["RANKINGS", "RankedUnit", "TARGET_ATOMS", "atom_scores", "character_scores", "map_records",
           "selected_molecules", "solubility_class", "top3_summary", "top3_table"]

TARGET_ATOMS = {"soluble": {"O", "N"}, "insoluble": {"C", "F", "Cl", "Br", "I"}}
#: How characters are ranked: the same for every method.
RANKINGS = ("abs", "signed")


def solubility_class(y: np.ndarray, soluble: float, insoluble: float) -> np.ndarray:
    return np.where(y >= soluble, "soluble", np.where(y <= insoluble, "insoluble", ""))


def rank_scores(values, ranking: str) -> np.ndarray:
    """The scores characters are ranked by: ``|values|`` (``abs``) or ``values`` (``signed``)."""
    if ranking not in RANKINGS:
        raise ValueError(f"smiles2vec: ranking must be one of {RANKINGS}, got {ranking!r}")
    values = np.asarray(values, dtype=float)
    return np.abs(values) if ranking == "abs" else values


class RankedUnit(Unit):
    """A unit read through a ranking: ``reduce`` gives the ranked scores (``|score|`` for ``abs``),
    removal is the wrapped unit's. The faithfulness metric orders units by these scores."""

    def __init__(self, unit: Unit, ranking: str):
        rank_scores([], ranking)  # validate
        self.unit, self.ranking, self.name, self.kind = unit, ranking, unit.name, unit.kind

    @property
    def removal(self):
        return self.unit.removal

    def with_operator(self, operator) -> "RankedUnit":
        return RankedUnit(self.unit.with_operator(operator), self.ranking)

    def count(self, example) -> int:
        return self.unit.count(example)

    def reduce(self, attribution, example) -> np.ndarray:
        return rank_scores(self.unit.reduce(attribution, example), self.ranking)

    def forward_removed(self, model, examples, removed):
        return self.unit.forward_removed(model, examples, removed)


def character_scores(results: Mapping, data: SmilesData, idx, readings: Mapping[str, str]) -> dict[str, np.ndarray]:
    """``{name: (N, T) per-position scores}`` of the methods that applied (zero at padding), each
    read with its aggregation (``readings``: the Explainer's ``readings()``), signed (the ranking is
    applied where characters are ranked)."""
    character = unit(data.pad_id)
    examples = [torch.as_tensor(data.tokens[i]) for i in idx]
    out = {}
    for name, explanation in applicable(results).items():
        per_position = np.zeros(data.tokens[idx].shape)
        for r, (ex, units) in enumerate(zip(examples, explanation.units(character, examples, readings[name]))):
            per_position[r, character.positions(ex).numpy()] = units
        out[name] = per_position
    return out


def top3_table(data: SmilesData, idx, scores: Mapping[str, np.ndarray], thresholds: Mapping,
               ranking: str = "abs") -> pd.DataFrame:
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
        for method, values in scores.items():
            rank = rank_scores(values[r][chars], ranking)
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
    """Atom scores of every method (``scores``) on the first ``n_maps // 2`` soluble and insoluble
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
                        "scores": {m: atom_scores(data, i, s[r]) for m, s in scores.items()}})
    return records
