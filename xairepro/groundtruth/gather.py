"""The stage's tables over models: the summary (mean +- sd over models per task and method),
BayesGrad's model-level paired comparisons, and the per-(task, method) scores the leaderboard reads."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from ..evaluation.stats import paired_model_test

__all__ = ["comparisons", "localisation_scores", "summary"]

SCORES = ("prc_auc", "mass", "pointing")


def summary(localisation: pd.DataFrame) -> pd.DataFrame:
    """Mean, sd (ddof 1) and number of models of each score per (task, modality, unit, model, method)."""
    keys = ["task", "modality", "unit", "model", "method"]
    if localisation.empty:
        return pd.DataFrame(columns=keys + ["n_models"] + [f"{s}_{x}" for s in SCORES for x in ("mean", "sd")])
    g = localisation.groupby(keys, sort=False)
    out = g.size().rename("n_models").to_frame()
    for s in SCORES:
        out[f"{s}_mean"] = g[s].mean()
        out[f"{s}_sd"] = g[s].std(ddof=1)
    return out.reset_index()


def comparisons(localisation: pd.DataFrame, *, method: str = "bayesgrad",
                against: Sequence[str] = ("vanilla_grad", "smoothgrad"), score: str = "prc_auc") -> pd.DataFrame:
    """``method`` against each of ``against`` per (task, model): the model-level test of the models'
    ``score`` (:func:`xairepro.evaluation.stats.paired_model_test`, one pair per trained model: the
    paper's Wilcoxon over models from 6 models on, the paired t-test below, ``test`` says which) and a
    ``verdict``: better / worse (p < 0.05), undecided (p >= 0.05: not evidence of no difference), or one
    model (no test)."""
    rows = []
    for (task, model), g in localisation.groupby(["task", "model"], sort=False):
        wide = g.pivot_table(index="replicate", columns="method", values=score)
        for other in against:
            if method not in wide or other not in wide:
                continue
            both = wide[[method, other]].dropna()
            if both.empty:
                continue
            if len(both) < 2:
                rows.append(dict(task=task, modality=g["modality"].iloc[0], model=model, method=method,
                                 against=other, score=score, n=len(both),
                                 mean_diff=float((both[method] - both[other]).mean()), verdict="one model (no test)"))
                continue
            res = paired_model_test(both[method].to_numpy(), both[other].to_numpy())
            if res["pvalue"] < 0.05:
                verdict = "better" if res["mean_diff"] > 0 else "worse"
            else:
                verdict = "undecided"
            rows.append(dict(task=task, modality=g["modality"].iloc[0], model=model, method=method, against=other,
                             score=score, **res, verdict=verdict))
    cols = ["task", "modality", "model", "method", "against", "score", "n", "mean_diff", "median_diff", "n_a_higher",
            "n_ties", "test", "statistic", "pvalue", "verdict"]
    return pd.DataFrame(rows, columns=cols)


def localisation_scores(localisation: pd.DataFrame, score: str = "prc_auc") -> pd.DataFrame:
    """Per (task, modality, method) the mean over all scored models of ``score`` (the leaderboard's
    localisation column): columns ``task, modality, method, <score>, n_models``."""
    if score not in SCORES:
        raise ValueError(f"score must be one of {SCORES}, got {score!r}")
    g = localisation.groupby(["task", "modality", "method"], sort=False)[score]
    return pd.DataFrame({score: g.mean(), "n_models": g.size()}).reset_index()
