"""Feature importance of the iris MLP from gradients, beside a random forest's (the blog's check).

Gradient importance follows chainer-chemistry's recipe: ``compute`` M gradient samples of the
classifier's loss (cross-entropy against each flower's true class, as the blog's ``Classifier``
differentiates) with respect to the four measurements, ``aggregate`` them with the squared
method, then average over the flowers. SmoothGrad's noise is Gaussian with sigma a fraction of
each flower's measurement range ("relative", the blog's ``GaussianNoiseSampler`` default of 0.15);
BayesGrad samples dropout masks. The forest gives impurity (mean decrease in Gini) and
permutation importance (mean drop in accuracy when a column is shuffled). Rankings are compared
with Spearman's rho.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from ...attribution import BayesGrad, SmoothGrad, VanillaGrad, aggregate
from ...context import RunContext
from .data import IrisData

__all__ = ["GRADIENT_METHODS", "FOREST_METHODS", "gradient_importance", "forest_importance",
           "rank_agreement", "importance_study"]

GRADIENT_METHODS = ("vanillagrad", "smoothgrad", "bayesgrad")
FOREST_METHODS = ("forest_impurity", "forest_permutation")


def _loss_fn(y: torch.Tensor):
    """Per-example cross-entropy of the true class; the replicated copies are copy-major."""
    def score(out):
        return F.cross_entropy(out, y.to(out.device).repeat(out.shape[0] // len(y)), reduction="none")
    return score


def gradient_importance(model, data: IrisData, attribution: Mapping, *, ctx: RunContext) -> pd.DataFrame:
    """One row per (method, feature): mean over flowers of the squared-aggregated gradient, and
    the per-flower standard deviation of that mean's terms."""
    device = ctx.torch_device
    model = model.to(device)
    x = torch.as_tensor(data.x, dtype=torch.float32, device=device)
    y = torch.as_tensor(data.y, dtype=torch.long)
    if len(x) > ctx.max_batch:
        raise ValueError(f"attribution.max_batch ({ctx.max_batch}) must hold all {len(x)} flowers")
    kw = dict(output_fn=_loss_fn(y), max_batch=ctx.max_batch)
    m = int(attribution["mc_samples"])
    methods = {
        "vanillagrad": (VanillaGrad(model, **kw), 1),
        "smoothgrad": (SmoothGrad(model, noise=float(attribution["smoothgrad_noise"]),
                                  noise_mode=attribution.get("noise_mode", "relative"), **kw), m),
        "bayesgrad": (BayesGrad(model, **kw), m),
    }
    rows = []
    for k, (name, (method, samples)) in enumerate(methods.items()):
        per_flower = aggregate(method.compute(x, M=samples, seed=ctx.child(k).seed),
                               method=attribution.get("aggregate", "square"), channel_axis=None)
        per_flower = per_flower.cpu().numpy()                           # (150, 4)
        for j, feat in enumerate(data.features):
            rows.append({"method": name, "feature": feat, "importance": float(per_flower[:, j].mean()),
                         "sem": float(per_flower[:, j].std(ddof=1) / np.sqrt(len(per_flower)))})
    return pd.DataFrame(rows)


def forest_importance(data: IrisData, forest: Mapping, *, ctx: RunContext) -> pd.DataFrame:
    """Impurity and permutation importance of a seeded random forest fitted on all flowers."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.inspection import permutation_importance

    rf = RandomForestClassifier(n_estimators=int(forest["n_trees"]), random_state=ctx.seed, n_jobs=1)
    rf.fit(data.x, data.y)
    perm = permutation_importance(rf, data.x, data.y, n_repeats=int(forest["permutation_repeats"]),
                                  random_state=ctx.seed, n_jobs=1)
    n_trees = len(rf.estimators_)
    tree_imp = np.stack([t.feature_importances_ for t in rf.estimators_])
    rows = []
    for j, feat in enumerate(data.features):
        rows.append({"method": "forest_impurity", "feature": feat, "importance": float(rf.feature_importances_[j]),
                     "sem": float(tree_imp[:, j].std(ddof=1) / np.sqrt(n_trees))})
        rows.append({"method": "forest_permutation", "feature": feat, "importance": float(perm.importances_mean[j]),
                     "sem": float(perm.importances_std[j] / np.sqrt(perm.importances.shape[1]))})
    return pd.DataFrame(rows)


def rank_agreement(importance: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """Per method: its ranking (most important first), whether the two petal measurements are its
    top two, and Spearman's rho against each forest ranking."""
    wide = importance.pivot(index="feature", columns="method", values="importance").reindex(features)
    petals = {f for f in features if f.startswith("petal")}
    rows = []
    for method in wide.columns:
        order = wide[method].sort_values(ascending=False).index.tolist()
        row = {"method": method, "ranking": " > ".join(order), "petal_top2": set(order[:2]) == petals}
        for ref in FOREST_METHODS:
            row[f"rho_vs_{ref}"] = round(float(spearmanr(wide[method], wide[ref]).statistic), 10)
        rows.append(row)
    return pd.DataFrame(rows)


def importance_study(model, data: IrisData, attribution: Mapping, forest: Mapping, *,
                     ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(importance rows for every method, rank agreement table)."""
    importance = pd.concat([gradient_importance(model, data, attribution, ctx=ctx),
                            forest_importance(data, forest, ctx=ctx)], ignore_index=True)
    return importance, rank_agreement(importance, data.features)
