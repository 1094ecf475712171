"""Generic plots (scatter of measured vs predicted, bars of per-group means)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..evaluation.faithfulness import DEFAULT_OPERATOR, of_operator
from ..names import FLOOR_METHOD


def measured_vs_predicted(y_true, y_pred, metrics: dict, title: str = "", ax=None,
                          units: str = "log solubility (mol/L)") -> plt.Axes:
    """Scatter with the identity line and r / MAE in the legend box."""
    ax = ax or plt.subplots(figsize=(4.6, 4.4))[1]
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    ax.scatter(y_true, y_pred, s=9, alpha=0.55, edgecolor="none")
    lo, hi = min(y_true.min(), y_pred.min()), max(y_true.max(), y_pred.max())
    pad = 0.05 * (hi - lo)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], color="0.3", lw=1, ls="--")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(f"measured {units}")
    ax.set_ylabel(f"predicted {units}")
    ax.text(0.04, 0.96, f"r = {metrics['r']:.3f}\nMAE = {metrics['mae']:.3f}\nn = {len(y_true)}",
            transform=ax.transAxes, va="top", fontsize=9,
            bbox=dict(boxstyle="round", fc="white", ec="0.8"))
    ax.set_title(title)
    return ax


def environment_bars(table: pd.DataFrame, ax=None) -> plt.Axes:
    """Mean attribution per atom environment and method, with standard-error bars."""
    ax = ax or plt.subplots(figsize=(8, 3.8))[1]
    envs = list(dict.fromkeys(table["environment"]))
    methods = list(dict.fromkeys(table["method"]))
    width = 0.8 / len(methods)
    colors = sns.color_palette("deep", len(methods))
    for k, m in enumerate(methods):
        sub = table[table["method"] == m].set_index("environment").reindex(envs)
        x = np.arange(len(envs)) + (k - (len(methods) - 1) / 2) * width
        ax.bar(x, sub["mean"], width, yerr=sub["sem"], label=m, color=colors[k], capsize=2)
    ax.axhline(0, color="0.3", lw=0.8)
    ax.set_xticks(np.arange(len(envs)))
    ax.set_xticklabels(envs, rotation=30, ha="right")
    ax.set_ylabel("mean signed attribution")
    ax.legend(fontsize=8)
    return ax


def faithfulness_curves_plot(curves: pd.DataFrame, summary: pd.DataFrame, title: str = "", unit: str = "units",
                             axes=None, operator: str = DEFAULT_OPERATOR):
    """Deletion and insertion curves (mean over examples) of every method under one removal
    ``operator``, best-ranked first in the legend, the random order dashed; legend entries carry the
    deletion AOPC."""
    curves, summary = of_operator(curves, operator), of_operator(summary, operator)
    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    order = list(summary.sort_values("rank")["method"])
    aopc = summary.set_index("method")["deletion_aopc"]
    palette = dict(zip([m for m in order if m != FLOOR_METHOD], sns.color_palette("tab10", len(order))))
    for ax, mode in zip(axes, ("deletion", "insertion")):
        for method in order:
            c = curves[(curves["method"] == method) & (curves["mode"] == mode)].sort_values("fraction")
            style = dict(color="0.4", ls="--") if method == FLOOR_METHOD else dict(color=palette[method])
            ax.plot(c["fraction"], c["mean"], label=f"{method} (AOPC {aopc[method]:.3g})", lw=1.6, **style)
        ax.set_xlabel(f"fraction of {unit} {'removed' if mode == 'deletion' else 'present'}, best-ranked first")
        ax.set_ylabel("model score")
        ax.set_title(f"{title} {mode}".strip())
    axes[0].legend(fontsize=7, loc="best")
    return axes


def uncertainty_bars(table: pd.DataFrame, method: str, *, model: str | None = None, axes=None, max_units: int = 40,
                     titles=None):
    """A sampled method's per-unit mean with its standard deviation over the M samples as error bars,
    one panel per example, from the ``unit_examples`` table of a faithfulness study
    (:data:`xairepro.experiments.suite.UNIT_EXAMPLE_COLUMNS`). Returns the axes (``None`` when the
    table has no rows for that method and model). ``titles``: optional ``{example: title}``."""
    sel = table[(table["method"] == method) & ((table["model"] == model) if model is not None else True)]
    examples = list(dict.fromkeys(sel["example"]))
    if not examples:
        return None
    if axes is None:
        _, axes = plt.subplots(1, len(examples), figsize=(3.6 * len(examples), 3.0), squeeze=False)
        axes = axes[0]
    for ax, ex in zip(axes, examples):
        g = sel[sel["example"] == ex].sort_values("position").head(max_units)
        x = np.arange(len(g))
        ax.bar(x, g["mean"], yerr=g["sd"], color="#4c72b0", ecolor="0.3", capsize=2, lw=0)
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_xticks(x)
        ax.set_xticklabels(g["unit_label"], fontsize=7, rotation=90 if len(g) > 6 else 0)
        name = (titles or {}).get(ex, f"example {ex}")
        ax.set_title(f"{name} (M = {int(g['M'].iloc[0])})", fontsize=9)
    axes[0].set_ylabel(f"{method}: mean ± sd")
    return axes
