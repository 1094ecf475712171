"""Paired statistics shared by every evaluation (methods compared on the same models or examples).

The unit of evidence for "method A beats method B" is a trained model: examples explained by
different models are not independent draws (a model-level effect moves all of a model's examples
together), so :func:`model_level_wilcoxon` never pools them; it pairs the models' means.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["model_level_wilcoxon", "paired_wilcoxon"]


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
    elif _exact_permutation(d):
        out.update(_signflip_wilcoxon(d))
    else:
        res = wilcoxon(a, b, alternative="two-sided")
        out.update(statistic=float(res.statistic), pvalue=float(res.pvalue))
    return out


def _exact_permutation(d: np.ndarray) -> bool:
    """Where scipy's ``wilcoxon(method="auto")`` runs its exact permutation test: ties or zeros among
    at most 13 differences (every one of the 2**n sign flips is enumerated)."""
    size = np.abs(d[d != 0])
    return len(d) <= 13 and bool((d == 0).any() or len(np.unique(size)) < len(size))


def _r_plus(d, axis=-1):
    """The signed-rank statistic: the sum of the ranks of |d| over the positive differences (zeros
    left out, ties at their mean rank), vectorised over every axis but ``axis``."""
    from scipy.stats import rankdata

    d = np.moveaxis(np.asarray(d, float), axis, -1)
    size = np.abs(d)
    ranks = rankdata(np.where(size == 0, np.nan, size), axis=-1, nan_policy="omit")
    return np.where(d > 0, ranks, 0.0).sum(-1)


def _signflip_wilcoxon(d: np.ndarray) -> dict:
    """scipy's exact permutation Wilcoxon test (what ``scipy.stats.wilcoxon`` runs on tied or zero
    differences, n <= 13), with the statistic vectorised: :func:`scipy.stats.permutation_test` over
    the same 2**n sign flips ranks them in one call instead of one by one (about 0.2 s a test, and a
    leaderboard makes thousands). The p-value equals scipy's wilcoxon to the last digit and the
    statistic is its min(R+, R-) (tests/test_stats.py)."""
    from scipy.stats import permutation_test

    res = permutation_test((d,), _r_plus, permutation_type="samples", vectorized=True, alternative="two-sided",
                           axis=-1)
    r_plus = float(_r_plus(d))
    r_minus = float(_r_plus(-d))
    return {"statistic": min(r_plus, r_minus), "pvalue": float(res.pvalue)}


def model_level_wilcoxon(wide, a: str, b: str, model: str = "replicate") -> dict:
    """:func:`paired_wilcoxon` of columns ``a`` vs ``b`` of ``wide`` (one row per example, indexed by
    ``model`` and the example, or by the example alone) with the trained model as the unit: over
    several models, each model's mean over the examples both methods have is one pair (``n`` =
    models); with one model, its examples are the pairs (a claim about that model only). Adds
    ``unit`` (``"model"`` or ``"example"``), ``n_models`` and ``n_examples``."""
    both = wide[[a, b]].dropna()
    names = list(both.index.names)
    models = both.index.get_level_values(model) if model in names else None
    n_models = int(models.nunique()) if models is not None else 1
    if n_models > 1:
        means = both.groupby(level=model).mean()
        out = paired_wilcoxon(means[a].to_numpy(), means[b].to_numpy())
        out["unit"] = "model"
    else:
        out = paired_wilcoxon(both[a].to_numpy(), both[b].to_numpy())
        out["unit"] = "example"
    out.update(n_models=n_models, n_examples=int(len(both)))
    return out
