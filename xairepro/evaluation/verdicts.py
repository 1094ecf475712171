"""The verdicts of the sanity check and of the uncertainty's informativeness, in one place.

Every experiment writes the faithfulness protocol's sanity and uncertainty tables with these columns
(:meth:`xairepro.experiments.suite.SuiteResult.tables`); the notebooks and the leaderboard read them
and never compare a number with a threshold themselves.

* Model-parameter randomisation: a method passes when the mean Spearman correlation between its
  trained-model and fully-randomised-model unit scores is below
  :data:`~xairepro.evaluation.sanity.SANITY_THRESHOLD`, over every example and replicate of its
  (experiment, model, method).
* Uncertainty: a method's spread is informative when the mean rank correlation between a unit's
  spread over the samples and the score change when that unit alone is removed exceeds
  :data:`INFORMATIVE_THRESHOLD`.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from .sanity import SANITY_THRESHOLD

__all__ = ["GROUP", "INFORMATIVE_THRESHOLD", "SANITY_THRESHOLD", "sanity_verdicts", "uncertainty_verdicts"]

#: A method's uncertainty is informative when the mean Spearman correlation between its units' spread
#: and their single-unit drops exceeds this value.
INFORMATIVE_THRESHOLD = 0.1
#: What a verdict is about: one method on one model of one experiment (its replicates pooled).
GROUP = ("experiment", "model", "method")


def sanity_verdicts(sanity: pd.DataFrame, by: Sequence[str] = GROUP) -> pd.DataFrame:
    """The sanity rows (one per example and cascade step) with ``full_rho``, the mean Spearman
    correlation of the row's group (``by``) at its full randomisation (its largest ``layers``), and
    ``passes`` (``full_rho < SANITY_THRESHOLD``)."""
    out = sanity.drop(columns=["full_rho", "passes"], errors="ignore").copy()
    if out.empty:
        return out.assign(full_rho=pd.Series(dtype=float), passes=pd.Series(dtype=bool))
    by = list(by)
    full = out[out["layers"] == out.groupby(by)["layers"].transform("max")]
    rho = full.groupby(by)["spearman"].mean().rename("full_rho").reset_index()
    out = out.merge(rho, on=by, how="left")
    out["passes"] = out["full_rho"] < SANITY_THRESHOLD
    return out


def uncertainty_verdicts(uncertainty: pd.DataFrame, by: Sequence[str] = GROUP) -> pd.DataFrame:
    """The uncertainty rows (one per example) with ``mean_rho``, the mean over the row's group (``by``)
    of ``spearman_sd_vs_drop``, and ``informative`` (``mean_rho > INFORMATIVE_THRESHOLD``)."""
    out = uncertainty.drop(columns=["mean_rho", "informative"], errors="ignore").copy()
    if out.empty:
        return out.assign(mean_rho=pd.Series(dtype=float), informative=pd.Series(dtype=bool))
    by = list(by)
    rho = out.groupby(by)["spearman_sd_vs_drop"].mean().rename("mean_rho").reset_index()
    out = out.merge(rho, on=by, how="left")
    out["informative"] = out["mean_rho"] > INFORMATIVE_THRESHOLD
    return out
