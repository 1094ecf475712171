"""Paired statistics shared by every evaluation (methods compared on the same models or examples).

The unit of evidence for "method A beats method B" is a trained model: examples explained by
different models are not independent draws (a model-level effect moves all of a model's examples
together), so :func:`model_level_test` never pools them; it pairs the models' means.

Which test pairs the models (:func:`paired_model_test`): the Wilcoxon signed-rank test from
:data:`MIN_SIGNED_RANK` models on, the paired t-test below. With n models the signed-rank test's
smallest two-sided p is 2 / 2**n (0.25 with 3 models, 0.0625 with 5), so below 6 models it could never
reject at 0.05 and a board of 3 seeds per experiment would carry no call at all, however large and
consistent a difference. The t-test assumes the models' mean differences are roughly normal (means
over many examples; the A/A check of the leaderboard, tests/test_leaderboard_checks.py, measures its
false-call rate at 3 models); from 6 models on the rank test drops that assumption.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["MIN_SIGNED_RANK", "model_level_test", "paired_model_test", "paired_t", "paired_wilcoxon"]

#: The fewest models with which the model-level test is the Wilcoxon signed-rank test (the fewest pairs
#: with which its two-sided p can fall below 0.05: 2 / 2**6); fewer models are paired by the t-test.
MIN_SIGNED_RANK = 6


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


def paired_t(a: Sequence[float], b: Sequence[float]) -> dict:
    """Two-sided paired t-test of ``a`` vs ``b`` (:func:`scipy.stats.ttest_rel`), with the same keys as
    :func:`paired_wilcoxon` (``statistic`` is t). Identical differences: p = 1 where they are all 0, 0
    where they are equal and non-zero (t is infinite)."""
    from scipy.stats import ttest_rel

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("need two equal-length 1-d arrays")
    if len(a) < 2:
        raise ValueError(f"a paired t-test needs at least 2 pairs, got {len(a)}")
    d = a - b
    out = {"n": int(len(a)), "mean_diff": float(d.mean()), "median_diff": float(np.median(d)),
           "n_a_higher": int((d > 0).sum()), "n_ties": int((d == 0).sum())}
    if np.all(d == d[0]):
        if d[0] == 0:
            out.update(statistic=float("nan"), pvalue=1.0)
        else:
            out.update(statistic=float(np.sign(d[0]) * np.inf), pvalue=0.0)
        return out
    res = ttest_rel(a, b)
    out.update(statistic=float(res.statistic), pvalue=float(res.pvalue))
    return out


def paired_model_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """The model-level test of paired per-model scores ``a`` vs ``b`` (one pair per trained model): the
    Wilcoxon signed-rank test (:func:`paired_wilcoxon`) from :data:`MIN_SIGNED_RANK` pairs on, the paired
    t-test (:func:`paired_t`) below; ``test`` names the one used (``"wilcoxon"`` or ``"t"``)."""
    if len(a) >= MIN_SIGNED_RANK:
        return {**paired_wilcoxon(a, b), "test": "wilcoxon"}
    return {**paired_t(a, b), "test": "t"}


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


def model_level_test(wide, a: str, b: str, model: str = "replicate") -> dict:
    """Columns ``a`` vs ``b`` of ``wide`` (one row per example, indexed by ``model`` and the example, or
    by the example alone) with the trained model as the unit: over several models, each model's mean
    over the examples both methods have is one pair (``n`` = models) of :func:`paired_model_test`; with
    one model, its examples are the pairs of :func:`paired_wilcoxon` (a claim about that model only).
    Adds ``unit`` (``"model"`` or ``"example"``), ``test``, ``n_models`` and ``n_examples``."""
    both = wide[[a, b]].dropna()
    names = list(both.index.names)
    models = both.index.get_level_values(model) if model in names else None
    n_models = int(models.nunique()) if models is not None else 1
    if n_models > 1:
        means = both.groupby(level=model).mean()
        out = paired_model_test(means[a].to_numpy(), means[b].to_numpy())
        out["unit"] = "model"
    else:
        out = paired_wilcoxon(both[a].to_numpy(), both[b].to_numpy())
        out.update(unit="example", test="wilcoxon")
    out.update(n_models=n_models, n_examples=int(len(both)))
    return out
