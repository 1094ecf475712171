"""Attribution quality against known ground-truth atoms, and the classification metrics around it.

The BayesGrad paper (section 4.1) labels Tox21 molecules by whether they contain pyridine and
asks whether an attribution method puts the pyridine ring atoms first. The metric here never
knows which method produced the scores: it takes per-atom scores and per-molecule sets of
ground-truth atoms and returns numbers.

Top-k precision-recall curve (the paper's Fig. 1 and Table 1): for each rate ``r`` the ``k``
highest-scoring atoms of an ``n``-atom molecule are "extracted"; precision is the fraction of
extracted atoms that are ground truth, recall the fraction of ground-truth atoms extracted; both are
averaged over molecules, and the PRC-AUC is the trapezoidal area under the averaged (recall,
precision) points. ``k`` depends on the extraction rule (:data:`EXTRACTION_RULES`):

* ``"ceil"``: ``ceil(r * n)`` (at least one) -- this project's first rule;
* ``"max1_int"``: ``max(1, int(r * n))`` -- the later fix of the reference code's rule;
* ``"reference_int"``: ``int(r * n)``, and all ``n`` atoms when that is 0 -- the BayesGrad code
  (``idx[-int(n * r):]``, and ``idx[-0:]`` is the whole array), the scale of the paper's Table 1.

As in the paper's code, the curve is not anchored at recall 0, so even a perfect ranking scores
well below 1 (about 0.55 under ``ceil`` on our Tox21 validation pyridine molecules), and the
scales of the rules differ by 0.07-0.10: compare methods on the same molecules and rule only, and
report a perfect and a random ranking beside them.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
from rdkit import Chem

from .stats import paired_wilcoxon  # noqa: F401  (re-exported: Table 1 uses it)

#: The synthetic label of the BayesGrad paper: an aromatic six-ring with one aromatic nitrogen.
#: As SMARTS, ``c``/``n`` match aromatic atoms only (any charge, so pyridinium ``[n+]`` counts),
#: and fused rings (quinoline, ...) match too.
PYRIDINE_SMARTS = "c1ccncc1"
#: The paper's 20 rates from 10% to 100% of each molecule's atoms.
DEFAULT_RATES = np.linspace(0.1, 1.0, 20)

_PATTERNS: dict[str, Chem.Mol] = {}


def _pattern(smarts: str) -> Chem.Mol:
    if smarts not in _PATTERNS:
        pattern = Chem.MolFromSmarts(smarts)
        if pattern is None:
            raise ValueError(f"invalid SMARTS {smarts!r}")
        _PATTERNS[smarts] = pattern
    return _PATTERNS[smarts]


def _as_mol(mol_or_smiles) -> Chem.Mol:
    if isinstance(mol_or_smiles, Chem.Mol):
        return mol_or_smiles
    mol = Chem.MolFromSmiles(mol_or_smiles)
    if mol is None:
        raise ValueError(f"RDKit cannot parse SMILES {mol_or_smiles!r}")
    return mol


def has_substructure(mol_or_smiles, smarts: str = PYRIDINE_SMARTS) -> bool:
    return _as_mol(mol_or_smiles).HasSubstructMatch(_pattern(smarts))


def substructure_atoms(mol_or_smiles, smarts: str = PYRIDINE_SMARTS) -> list[int]:
    """Sorted indices of every atom in any match of ``smarts`` (all matches, flattened).

    Atoms shared by two matches (e.g. the fusion atoms of 1,8-naphthyridine) are counted once,
    so recall is over distinct ground-truth atoms.
    """
    matches = _as_mol(mol_or_smiles).GetSubstructMatches(_pattern(smarts), uniquify=True, maxMatches=10_000)
    return sorted({i for match in matches for i in match})


def pyridine_atoms(mol_or_smiles) -> list[int]:
    """Ground-truth atoms of the pyridine label: the ring atoms of every pyridine match."""
    return substructure_atoms(mol_or_smiles, PYRIDINE_SMARTS)


# --------------------------------------------------------------------------- top-k PR curve

#: The extraction rules of the top-k curve (see the module docstring); the paper's is the last.
EXTRACTION_RULES = ("ceil", "max1_int", "reference_int")
#: The rule of the BayesGrad code, on which the paper's Table 1 was computed.
REFERENCE_RULE = "reference_int"


def n_extracted(n_atoms: int, rate: float, rule: str = "ceil") -> int:
    """Atoms extracted at ``rate`` from an ``n_atoms`` molecule under ``rule`` (at most ``n``).

    ``ceil``: ``ceil(rate * n)``, at least one; a small tolerance keeps float noise
    (``0.3 * 10 = 3.0000000000000004``) from adding an atom. ``max1_int``: ``max(1, int(rate * n))``;
    ``reference_int``: ``int(rate * n)``, or all atoms when it is 0. The last two use the product
    exactly as the reference code does (no tolerance), so they agree with it atom for atom.
    """
    if rule == "ceil":
        k = max(1, math.ceil(rate * n_atoms - 1e-9))
    elif rule == "max1_int":
        k = max(1, int(n_atoms * rate))
    elif rule == "reference_int":
        k = int(n_atoms * rate) or n_atoms
    else:
        raise ValueError(f"unknown extraction rule {rule!r}; known: {EXTRACTION_RULES}")
    return int(min(n_atoms, k))


def topk_precision_recall(scores: Sequence[np.ndarray], truth: Sequence[Iterable[int]],
                          rates: Sequence[float] = DEFAULT_RATES, rule: str = "ceil") -> tuple[np.ndarray, np.ndarray]:
    """Mean recall and mean precision over molecules at each rate (arrays of ``len(rates)``).

    ``scores[i]``: one score per atom of molecule i (higher = more important); ties are broken by
    atom index, so the result is deterministic. ``truth[i]``: its ground-truth atom indices
    (non-empty: molecules without ground truth have no recall and must be left out).
    """
    if len(scores) != len(truth):
        raise ValueError(f"{len(scores)} score arrays but {len(truth)} ground-truth sets")
    if len(scores) == 0:
        raise ValueError("no molecules to evaluate")
    rates = np.asarray(rates, dtype=float)
    recall = np.zeros((len(scores), len(rates)))
    precision = np.zeros_like(recall)
    for i, (s, t) in enumerate(zip(scores, truth)):
        s = np.asarray(s, dtype=float).reshape(-1)
        t = set(int(a) for a in t)
        if not t:
            raise ValueError(f"molecule {i} has no ground-truth atoms")
        if max(t) >= len(s) or min(t) < 0:
            raise ValueError(f"molecule {i}: ground-truth atom index out of range for {len(s)} scores")
        is_truth = np.zeros(len(s), dtype=bool)
        is_truth[list(t)] = True
        # hits among the top k for every k at once: cumulative count along the ranking
        order = np.argsort(-s, kind="stable")
        hits = np.cumsum(is_truth[order])
        for j, r in enumerate(rates):
            k = n_extracted(len(s), r, rule)
            recall[i, j] = hits[k - 1] / len(t)
            precision[i, j] = hits[k - 1] / k
    return recall.mean(0), precision.mean(0)


def prc_auc(recall: Sequence[float], precision: Sequence[float], monotone: bool = True) -> float:
    """Trapezoidal area under (recall, precision) points in rate order (not anchored at 0).

    ``monotone``: recall must be non-decreasing (``ceil`` and ``max1_int`` guarantee it). The
    ``reference_int`` rule does not (a small molecule's recall drops from 1 when ``int(r n)`` turns
    from 0 to 1); with ``monotone=False`` the signed trapezoid sum is returned, which is what
    ``sklearn.metrics.auc`` computes for a monotone curve (it refuses a non-monotone one).
    """
    recall, precision = np.asarray(recall, float), np.asarray(precision, float)
    if recall.shape != precision.shape or recall.ndim != 1 or len(recall) < 2:
        raise ValueError("need two equal-length 1-d arrays of at least 2 points")
    if monotone and np.any(np.diff(recall) < -1e-12):
        raise ValueError("recall must be non-decreasing")
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


def substructure_prc_auc(scores: Sequence[np.ndarray], truth: Sequence[Iterable[int]],
                         rates: Sequence[float] = DEFAULT_RATES, rule: str = "ceil") -> dict:
    """The whole evaluation of one set of atom scores under one extraction rule: curve points,
    their PRC-AUC and whether mean recall is monotone over the rates."""
    recall, precision = topk_precision_recall(scores, truth, rates, rule)
    return {"rates": np.asarray(rates, float), "recall": recall, "precision": precision, "rule": rule,
            "monotone": bool(np.all(np.diff(recall) >= -1e-12)),
            "prc_auc": prc_auc(recall, precision, monotone=rule != "reference_int")}


def prc_auc_by_rule(scores: Sequence[np.ndarray], truth: Sequence[Iterable[int]],
                    rates: Sequence[float] = DEFAULT_RATES, rules: Sequence[str] = EXTRACTION_RULES) -> dict:
    """``{rule: substructure_prc_auc(...)}`` for every extraction rule, on the same molecules."""
    return {rule: substructure_prc_auc(scores, truth, rates, rule) for rule in rules}


def atom_rank(scores: Sequence[float], atom: int) -> int:
    """1-based rank of ``atom`` when atoms are sorted by descending score (ties: lower index first)."""
    order = np.argsort(-np.asarray(scores, dtype=float), kind="stable")
    return int(np.flatnonzero(order == atom)[0]) + 1


# --------------------------------------------------------------------------- classification

def roc_auc(y_true, y_score, mask=None) -> float:
    """ROC-AUC (scikit-learn) over the labelled entries; NaN labels and ``mask == False`` are
    left out (a missing Tox21 label is "not measured", never a negative). NaN if one class is
    absent."""
    from sklearn.metrics import roc_auc_score

    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_score = np.asarray(y_score, dtype=float).reshape(-1)
    keep = ~np.isnan(y_true)
    if mask is not None:
        keep &= np.asarray(mask, dtype=bool).reshape(-1)
    y_true, y_score = y_true[keep], y_score[keep]
    if len(np.unique(y_true)) < 2:
        return float("nan")
    return float(roc_auc_score(y_true, y_score))


# --------------------------------------------------------------------------- statistics
