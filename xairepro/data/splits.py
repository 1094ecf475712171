"""Seeded splits: k-fold cross-validation and random train/validation subsets."""
from __future__ import annotations

import numpy as np


def kfold_assignments(n: int, n_folds: int, seed: int) -> np.ndarray:
    """Fold index (0..n_folds-1) of each of ``n`` items, from a seeded shuffle; folds differ in
    size by at most one."""
    if n_folds < 2 or n_folds > n:
        raise ValueError(f"n_folds must be in [2, {n}], got {n_folds}")
    perm = np.random.default_rng(seed).permutation(n)
    folds = np.empty(n, dtype=np.int64)
    folds[perm] = np.arange(n) % n_folds
    return folds


def random_split(n: int, fractions: tuple[float, ...], seed: int) -> list[np.ndarray]:
    """Disjoint index arrays with the given fractions (the last takes the remainder)."""
    if not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must sum to 1, got {fractions}")
    perm = np.random.default_rng(seed).permutation(n)
    bounds = np.round(np.cumsum(fractions)[:-1] * n).astype(int)
    return [np.sort(p) for p in np.split(perm, bounds)]


def random_subset(n: int, size: int, seed: int) -> np.ndarray:
    """``size`` distinct indices out of ``n``, sorted."""
    if size > n:
        raise ValueError(f"subset size {size} exceeds {n} items")
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))
