"""The orders a faithfulness curve removes units in, and the removal masks of its steps.

The curve modes (:data:`MODES`): ``deletion`` (MoRF) removes the highest-scored units first, ``lerf``
the lowest first, ``insertion`` starts from every unit removed and puts the highest back first. Shared
by the curves (:mod:`.faithfulness`) and the upper bound's search (:mod:`.bounds`).
"""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["MODES", "ranking_order", "removal_masks"]

MODES = ("deletion", "lerf", "insertion")


def removal_masks(order: np.ndarray, fractions: np.ndarray, mode: str) -> torch.Tensor:
    """``(len(fractions), n)`` booleans: the units removed at each step for a unit ``order`` (the order
    the curve removes in: :func:`ranking_order`). ``deletion`` and ``lerf`` remove ``order[:k]``;
    ``insertion`` removes all but ``order[:k]``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n = len(order)
    ks = np.rint(np.asarray(fractions) * n).astype(int).clip(0, n)
    top = np.zeros((len(ks), n), dtype=bool)
    for row, k in enumerate(ks):
        top[row, order[:k]] = True
    return torch.from_numpy(top if mode != "insertion" else ~top)


def _order(scores: np.ndarray) -> np.ndarray:
    # stable: ties keep unit order, so the curve is deterministic
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


def ranking_order(scores: np.ndarray, mode: str) -> np.ndarray:
    """The order the ``mode``'s curve removes (deletion, insertion: highest score first; lerf: lowest
    first), ties in unit order."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    s = np.asarray(scores, dtype=float)
    return _order(-s if mode == "lerf" else s)
