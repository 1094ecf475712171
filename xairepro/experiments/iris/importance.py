"""Feature importance of the iris MLP from gradients, beside a random forest's (the blog's check).

Gradient importance follows chainer-chemistry's recipe: every method of ``attribution.methods``
(canonical names; the blog's VanillaGrad, SmoothGrad and BayesGrad by default) computes ``M``
samples of the attribution of the classifier's loss (cross-entropy against each flower's true
class, as the blog's ``Classifier`` differentiates) with respect to the four measurements, read
with the configured ``aggregation`` (squared, the same for every method), then averaged over the
flowers. SmoothGrad's noise is Gaussian with sigma a fraction of each flower's measurement range
("relative", the blog's ``GaussianNoiseSampler`` default of 0.15); BayesGrad samples dropout masks.
Method ``k`` of the list draws with ``ctx.child(k)``'s seed. The forest gives impurity (mean
decrease in Gini) and permutation importance (mean drop in accuracy when a column is shuffled).
Rankings are compared with Spearman's rho.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from scipy.stats import spearmanr

from ...context import RunContext
from ...evaluation.units import FeatureUnit
from ..explainer import applicable
from ..methods import not_applicable_rows
from .data import IrisData
from .settings import explainer

__all__ = ["FOREST_METHODS", "IrisImportance", "forest_importance", "gradient_importance", "importance_study",
           "rank_agreement"]

#: The reference rankings (scikit-learn's random forest), not attribution methods.
FOREST_METHODS = ("forest_impurity", "forest_permutation")


def _loss_fn(y: torch.Tensor):
    """Per-example cross-entropy of the true class; the replicated copies are copy-major."""
    def score(out):
        return F.cross_entropy(out, y.to(out.device).repeat(out.shape[0] // len(y)), reduction="none")
    return score


def gradient_importance(model, data: IrisData, attribution: Mapping, *, ctx: RunContext
                        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(one row per (method, feature): mean over flowers of the aggregated attribution of the loss and
    the standard error of that mean; the methods that did not apply, with their reason)."""
    device = ctx.torch_device
    model = model.to(device)
    x = torch.as_tensor(data.x, dtype=torch.float32, device=device)
    y = torch.as_tensor(data.y, dtype=torch.long)
    if len(x) > ctx.max_batch:
        raise ValueError(f"attribution.max_batch ({ctx.max_batch}) must hold all {len(x)} flowers")
    # the blog squares every method's attribution unless the section says otherwise
    attribution = {"aggregate": "square", **attribution}
    explain = explainer(model, attribution, ctx=ctx, data=data, noise_mode=attribution.get("noise_mode", "relative"),
                        output_fn=_loss_fn(y))
    # method k of the list draws with ctx.child(k)'s seed (the study's documented streams: adding a
    # method at the end leaves the others' draws as they were)
    results = {}
    for k, name in enumerate(explain.methods):
        results.update(replace(explain, seed=ctx.child(k).seed).explain(x, names=[name]))
    flowers = list(x.cpu())
    rows = []
    for name, explanation in applicable(results).items():
        per_flower = np.stack(explanation.units(FeatureUnit(), flowers, explain.reading(name)))
        for j, feat in enumerate(data.features):
            rows.append({"method": name, "feature": feat, "importance": float(per_flower[:, j].mean()),
                         "sem": float(per_flower[:, j].std(ddof=1) / np.sqrt(len(per_flower)))})
    return pd.DataFrame(rows), pd.DataFrame(not_applicable_rows(results), columns=["method", "reason"])


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


@dataclass
class IrisImportance:
    """``importance`` rows of every method (gradient methods and the forest), the rank ``agreement``
    table, and the methods that did not apply (``skipped``: method, reason)."""

    importance: pd.DataFrame
    agreement: pd.DataFrame
    skipped: pd.DataFrame


def importance_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> IrisImportance:
    """``inputs``: ``model``, ``data``. ``cfg``: ``attribution`` (methods, mc_samples, noise_mode, aggregate,
    method_options: SmoothGrad's ``stdevs`` among them) and ``importance`` (the forest: n_trees,
    permutation_repeats)."""
    data = inputs["data"]
    gradients, skipped = gradient_importance(inputs["model"], data, cfg["attribution"], ctx=ctx)
    importance = pd.concat([gradients, forest_importance(data, cfg["importance"], ctx=ctx)], ignore_index=True)
    return IrisImportance(importance, rank_agreement(importance, data.features), skipped)
