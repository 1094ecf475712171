"""The verdicts of the sanity check and of the uncertainty's informativeness, in one place.

Every experiment writes the faithfulness protocol's sanity and uncertainty tables with these columns
(:meth:`xairepro.experiments.suite.SuiteResult.tables`); the notebooks and the leaderboard read them
and never compare a number with a threshold themselves.

* Model-parameter randomisation: a method passes when the mean Spearman correlation between its
  trained-model and randomised-model unit scores is below
  :data:`~xairepro.evaluation.sanity.SANITY_THRESHOLD` at every cascade step that randomises at least
  half of the layers (:func:`sanity_verdicts`), over every example and replicate of its
  (experiment, model, method).
* Checks of the check (:func:`randomisation_lowers`): randomising every layer must move each non-random
  method's unit ranking away from the trained model's (mean Spearman below ``1 - LOWERED_MARGIN``),
  and must leave the random order's, which never looks at the model, where it was.
* Uncertainty: a method's spread is informative when the mean rank correlation between a unit's
  spread over the samples and the score change when that unit alone is removed exceeds
  :data:`INFORMATIVE_THRESHOLD`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .sanity import SANITY_THRESHOLD

__all__ = ["GROUP", "INFORMATIVE_THRESHOLD", "LOWERED_MARGIN", "SANITY_THRESHOLD", "randomisation_lowers",
           "sanity_verdicts", "uncertainty_verdicts"]

#: A method's uncertainty is informative when the mean Spearman correlation between its units' spread
#: and their single-unit drops exceeds this value.
INFORMATIVE_THRESHOLD = 0.1
#: Randomising the model "lowers" a method's similarity to its trained-model attribution when the mean
#: Spearman correlation at full randomisation is below 1 - this margin (an unchanged ranking gives 1).
LOWERED_MARGIN = 0.05
#: What a verdict is about: one method on one model of one experiment (its replicates pooled).
GROUP = ("experiment", "model", "method")


def sanity_verdicts(sanity: pd.DataFrame, by: Sequence[str] = GROUP) -> pd.DataFrame:
    """The sanity rows (one per example and cascade step) with ``verdict_rho`` and ``passes``.

    ``verdict_rho`` is the largest, over the cascade steps of the row's group (``by``) that randomise
    at least half of the group's deepest step (``layers`` >= max // 2, the cascade's half step, and
    >= 2: the half and full randomisations of the default cascade, never the top layer alone), of the
    step's mean Spearman correlation; ``passes`` is ``verdict_rho < SANITY_THRESHOLD``. A method must have changed by the time half the network is
    random, not only once all of it is (Adebayo et al. 2018: guided backprop's maps survive the
    randomisation of the top layers and only move when the lowest go). Where only the full
    randomisation is run, it alone decides."""
    out = sanity.drop(columns=["verdict_rho", "passes"], errors="ignore").copy()
    if out.empty:
        return out.assign(verdict_rho=pd.Series(dtype=float), passes=pd.Series(dtype=bool))
    by = list(by)
    # half of the layers as the cascade counts them (sanity_steps' half: n // 2, so 20 of 41), never the top
    # layer alone (at least 2 layers, or the deepest step where it has fewer)
    deepest = out.groupby(by)["layers"].transform("max")
    deep = out[out["layers"] >= np.minimum(deepest, np.maximum(deepest // 2, 2))]
    per_step = deep.groupby([*by, "layers"])["spearman"].mean()
    rho = per_step.groupby(level=list(range(len(by)))).max().rename("verdict_rho").reset_index()
    out = out.merge(rho, on=by, how="left")
    out["passes"] = out["verdict_rho"] < SANITY_THRESHOLD
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


def randomisation_lowers(sanity: pd.DataFrame, per_example: pd.DataFrame, by: Sequence[str] = GROUP,
                         floor: str | None = None) -> pd.DataFrame:
    """Does the model-randomisation check lower every non-random method's score? Per group (``by``) of
    the methods in ``per_example``: ``rho_first`` (mean Spearman at the cascade's first, smallest step),
    ``rho_full`` (at full randomisation), ``lowered`` (``rho_full < 1 - LOWERED_MARGIN``), ``expected``
    (True for every method but the random order ``floor``, which ignores the model) and ``ok``
    (``lowered == expected``; False where the sanity check was not measured for the method)."""
    from ..names import FLOOR_METHOD

    floor = floor or FLOOR_METHOD
    by = list(by)
    cols = [*by, "rho_first", "rho_full", "lowered", "expected", "ok"]
    methods = per_example[by].drop_duplicates() if len(per_example) else pd.DataFrame(columns=by)
    if sanity.empty:
        steps = pd.DataFrame(columns=[*by, "rho_first", "rho_full"])
    else:
        first = sanity[sanity["layers"] == sanity.groupby(by)["layers"].transform("min")]
        full = sanity[sanity["layers"] == sanity.groupby(by)["layers"].transform("max")]
        steps = pd.concat([first.groupby(by)["spearman"].mean().rename("rho_first"),
                           full.groupby(by)["spearman"].mean().rename("rho_full")], axis=1).reset_index()
    out = methods.merge(steps, on=by, how="left")
    out["lowered"] = out["rho_full"] < 1 - LOWERED_MARGIN
    out["expected"] = out["method"] != floor
    out["ok"] = np.where(out["rho_full"].notna(), out["lowered"] == out["expected"], False)
    return out[cols].reset_index(drop=True)
