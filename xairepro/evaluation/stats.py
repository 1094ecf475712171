"""Paired statistics shared by every evaluation (methods compared on the same models or examples)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["paired_wilcoxon"]


def paired_wilcoxon(a: Sequence[float], b: Sequence[float]) -> dict:
    """Two-sided Wilcoxon signed-rank test of paired scores ``a`` vs ``b`` (e.g. one PRC-AUC per
    model for two methods), with the mean and median difference and how often ``a`` wins."""
    from scipy.stats import wilcoxon

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1 or len(a) < 1:
        raise ValueError("need two equal-length 1-d arrays")
    d = a - b
    out = {"n": int(len(a)), "mean_diff": float(d.mean()), "median_diff": float(np.median(d)),
           "n_a_higher": int((d > 0).sum()), "n_ties": int((d == 0).sum())}
    if np.all(d == 0):
        out.update(statistic=float("nan"), pvalue=1.0)
    else:
        res = wilcoxon(a, b, alternative="two-sided")
        out.update(statistic=float(res.statistic), pvalue=float(res.pvalue))
    return out
