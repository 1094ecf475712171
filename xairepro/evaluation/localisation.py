"""Known-answer scores of an attribution: does a method point at the evidence a model was built to use?

A known-answer task (the BayesGrad paper's pyridine label, a patch planted in images, a word planted
in reviews, a motif planted in peptides, the informative columns of a table) gives every example a
boolean *evidence* mask over its units (atoms, pixels, words, residues, characters, features). Three
scores compare a method's per-unit scores with it, and never know which method made them:

* **PRC-AUC** (the paper's Table 1): the top-k precision-recall curve over all examples with the
  paper's extraction rule, by :func:`xairepro.evaluation.ground_truth.substructure_prc_auc`, the same
  code as Table 1;
* **mass**: per example, the share of the positive attribution inside the evidence (the relevance
  mass of Arras et al. 2022), ``nan`` when no unit is positive;
* **pointing game** (Zhang et al. 2018): per example, whether the top-scoring unit lies in the
  evidence (ties: the first unit of the tied top scores, the stable order of the curves).

:func:`localisation_table` gives one row per method; examples without evidence are an error (a task
scores only examples whose evidence is present).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .ground_truth import substructure_prc_auc

__all__ = ["LOCALISATION_COLUMNS", "localisation_table", "mass_inside", "pointing_hit"]

#: columns of :func:`localisation_table` after the caller's labels
LOCALISATION_COLUMNS = ["method", "n_examples", "prc_auc", "mass", "pointing"]


def _evidence(mask, n: int, i: int) -> np.ndarray:
    m = np.asarray(mask)
    if m.dtype != bool:  # unit indices
        idx = m.astype(int).reshape(-1)
        if len(idx) and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"example {i}: evidence index out of range for {n} units")
        m = np.zeros(n, dtype=bool)
        m[idx] = True
    if m.shape != (n,):
        raise ValueError(f"example {i}: evidence mask of shape {m.shape} for {n} unit scores")
    if not m.any():
        raise ValueError(f"example {i}: no evidence unit (score only examples whose evidence is present)")
    return m


def mass_inside(scores: np.ndarray, evidence: np.ndarray) -> float:
    """Share of the positive part of ``scores`` that lies on the ``evidence`` units (nan if none is positive)."""
    pos = np.clip(np.asarray(scores, float), 0.0, None)
    total = pos.sum()
    return float(pos[np.asarray(evidence, bool)].sum() / total) if total > 0 else float("nan")


def pointing_hit(scores: np.ndarray, evidence: np.ndarray) -> bool:
    """Whether the highest-scoring unit (the first of tied ones) is an evidence unit."""
    top = int(np.argsort(-np.asarray(scores, float), kind="stable")[0])
    return bool(np.asarray(evidence, bool)[top])


def localisation_table(unit_scores: Mapping[str, Sequence[np.ndarray]], evidence: Sequence, *,
                       rule: str = "reference_int") -> pd.DataFrame:
    """One row per method of ``unit_scores`` (``{method: [per-unit scores of each example]}``) against
    ``evidence`` (per example a boolean mask over its units, or the evidence units' indices):
    ``n_examples``, ``prc_auc`` (Table 1's curve under extraction ``rule``), ``mass`` (mean over the
    examples with a positive unit) and ``pointing`` (share of hits)."""
    rows = []
    for method, scores in unit_scores.items():
        scores = [np.asarray(s, float).reshape(-1) for s in scores]
        if len(scores) != len(evidence):
            raise ValueError(f"{method}: {len(scores)} score arrays for {len(evidence)} evidence masks")
        masks = [_evidence(e, len(s), i) for i, (s, e) in enumerate(zip(scores, evidence))]
        truth = [np.flatnonzero(m).tolist() for m in masks]
        mass = [mass_inside(s, m) for s, m in zip(scores, masks)]
        rows.append({"method": method, "n_examples": len(scores),
                     "prc_auc": substructure_prc_auc(scores, truth, rule=rule)["prc_auc"] if scores else float("nan"),
                     "mass": float(np.nanmean(mass)) if np.isfinite(mass).any() else float("nan"),
                     "pointing": float(np.mean([pointing_hit(s, m) for s, m in zip(scores, masks)]))
                     if scores else float("nan")})
    return pd.DataFrame(rows, columns=LOCALISATION_COLUMNS)
