"""One faithfulness metric for every method and modality: deletion and insertion curves, AOPC.

For each example the units (atoms, pixels, tokens; :mod:`xairepro.evaluation.units`) are ordered
by the attribution's score, highest first. The *deletion* curve removes the top units step by
step and records the model's score for the explained output; the *insertion* curve starts with
every unit removed and puts them back in the same order. Summaries:

* deletion AOPC (area over the perturbation curve, Samek et al. 2017): the mean over the steps
  k = 0..K of f(x) - f(x with the top-k units removed). Higher is more faithful: the units the
  method ranks first are the ones the score depends on. The "Gradients of counterfactuals"
  pixel-ablation figure is this curve.
* insertion AUC: the mean over the steps of f(x with the top-k units present) - f(all removed).
  Higher is more faithful.

The random order (the registered method ``random``: several seeded uniform orders per example,
their curves averaged) is the floor every method must clear. The metric takes
:class:`~xairepro.attribution.Explanation` objects, or per-unit scores already reduced, and never
knows which method produced them.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .stats import model_level_wilcoxon
from .units import Unit

__all__ = ["faithfulness_curves", "faithfulness_study", "faithfulness_summary", "removal_masks",
           "score_sets"]

from ..names import FLOOR_METHOD
MODES = ("deletion", "insertion")


def removal_masks(order: np.ndarray, fractions: np.ndarray, mode: str) -> torch.Tensor:
    """``(len(fractions), n)`` booleans: the units removed at each step for a unit ``order``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    n = len(order)
    ks = np.rint(np.asarray(fractions) * n).astype(int).clip(0, n)
    top = np.zeros((len(ks), n), dtype=bool)
    for row, k in enumerate(ks):
        top[row, order[:k]] = True
    return torch.from_numpy(top if mode == "deletion" else ~top)


def _order(scores: np.ndarray) -> np.ndarray:
    # stable: ties keep unit order, so the curve is deterministic
    return np.argsort(-np.asarray(scores, dtype=float), kind="stable")


@torch.no_grad()
def faithfulness_curves(model, examples: Sequence, scores: Sequence[np.ndarray], unit: Unit, *,
                        fractions: np.ndarray, mode: str = "deletion", targets: Sequence[int] | None = None,
                        score_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        max_batch: int = 2048) -> np.ndarray:
    """``(n_examples, len(fractions))`` model scores along each example's curve.

    ``scores[i]`` holds one number per unit of example i; ``targets[i]`` the output column
    explained (default 0); ``score_fn`` maps the raw output first (e.g. softmax).
    """
    if len(scores) != len(examples):
        raise ValueError(f"{len(scores)} score arrays for {len(examples)} examples")
    was_training = model.training
    model.eval()
    out = np.zeros((len(examples), len(fractions)))
    pending: list[int] = []

    def flush():
        masks = [removal_masks(_order(scores[i]), fractions, mode) for i in pending]
        y = model_out = unit.forward_removed(model, [examples[i] for i in pending], masks)
        if score_fn is not None:
            y = score_fn(model_out)
        y = y.float().reshape(y.shape[0], -1).cpu().numpy()
        for j, i in enumerate(pending):
            col = 0 if targets is None else int(targets[i])
            out[i] = y[j * len(fractions):(j + 1) * len(fractions), col]
        pending.clear()

    try:
        for i, (ex, s) in enumerate(zip(examples, scores)):
            if len(s) != unit.count(ex):
                raise ValueError(f"example {i}: {len(s)} scores for {unit.count(ex)} {unit.name}s")
            pending.append(i)
            if len(pending) * len(fractions) >= max_batch:
                flush()
        if pending:
            flush()
    finally:
        model.train(was_training)
    return out


def _aopc(curve: np.ndarray, mode: str) -> np.ndarray:
    return (curve[:, :1] - curve).mean(1) if mode == "deletion" else (curve - curve[:, :1]).mean(1)


def score_sets(explanation, examples: Sequence, unit: Unit, aggregation: str) -> list[list[np.ndarray]]:
    """The rankings to evaluate for one method: one set of per-unit scores, or one per sample for an
    explanation whose samples are orders (the random one)."""
    if not hasattr(explanation, "unit_samples"):  # per-unit scores already reduced
        return [list(explanation)]
    if explanation.each_sample_is_an_order:
        per_example = explanation.unit_samples(unit, examples, aggregation)
        return [[u[m] for u in per_example] for m in range(explanation.M)]
    return [explanation.units(unit, examples, aggregation)]


def faithfulness_study(model, examples: Sequence, explanations: Mapping, unit: Unit, *, fractions: np.ndarray,
                       targets: Sequence[int] | None = None, score_fn: Callable | None = None,
                       aggregation: str | Mapping[str, str] = "raw", max_batch: int = 2048,
                       example_ids: Sequence | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deletion and insertion curves of every method.

    ``explanations``: ``{method: Explanation}`` of the ``examples`` (or ``{method: [per-unit scores of
    each example]}``); each explanation is reduced to units by ``unit`` after the elementwise
    ``aggregation`` (one for all, or ``{method: aggregation}``). Returns (per-example rows: method, example, deletion_aopc, insertion_auc; curve
    rows: method, mode, fraction, mean, sem over examples).
    """
    fractions = np.asarray(fractions, dtype=float)
    ids = list(example_ids) if example_ids is not None else list(range(len(examples)))
    per_example, curve_rows = [], []
    for name, explanation in explanations.items():
        reading = aggregation.get(name, "raw") if isinstance(aggregation, Mapping) else aggregation
        rankings = score_sets(explanation, examples, unit, reading)
        summary = {}
        for mode in MODES:
            curves = np.mean([faithfulness_curves(model, examples, s, unit, fractions=fractions, mode=mode,
                                                  targets=targets, score_fn=score_fn, max_batch=max_batch)
                              for s in rankings], axis=0)
            summary[mode] = _aopc(curves, mode)
            sem = curves.std(0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros(len(fractions))
            curve_rows += [{"method": name, "mode": mode, "fraction": f, "mean": m, "sem": e}
                           for f, m, e in zip(fractions, curves.mean(0), sem)]
        per_example += [{"method": name, "example": ids[i], "deletion_aopc": summary["deletion"][i],
                         "insertion_auc": summary["insertion"][i]} for i in range(len(examples))]
    return pd.DataFrame(per_example), pd.DataFrame(curve_rows)


def faithfulness_summary(per_example: pd.DataFrame, metric: str = "deletion_aopc", floor: str = FLOOR_METHOD) -> pd.DataFrame:
    """One row per method, ranked by mean ``metric`` (1 = most faithful): mean and standard error of
    both measures, and paired Wilcoxon tests of each method against the top-ranked method and against
    the ``floor`` order (the random one).

    Rows of several trained models (a ``replicate`` column with more than one value: ESOL's folds,
    Tox21's subset models) are compared at the level of the models
    (:func:`~.stats.model_level_wilcoxon`: each model's mean is one pair, ``n_models`` of them) and the
    standard errors are over the models' means; with one model the examples are the pairs."""
    index = ["replicate", "example"] if "replicate" in per_example else ["example"]
    wide = per_example.pivot_table(index=index, columns="method", values=metric)
    ins = per_example.pivot_table(index=index, columns="method", values="insertion_auc")
    several = "replicate" in index and wide.index.get_level_values("replicate").nunique() > 1

    def sem(table, method):
        col = table[method].dropna()
        return float((col.groupby(level="replicate").mean() if several else col).sem())

    means = wide.mean().sort_values(ascending=False)
    best = means.index[0]
    rows = []
    for rank, (method, mean) in enumerate(means.items(), start=1):
        row = {"method": method, "rank": rank, metric: float(mean), f"{metric}_sem": sem(wide, method),
               "insertion_auc": float(ins[method].mean()), "insertion_auc_sem": sem(ins, method),
               "n_examples": int(wide[method].notna().sum())}
        for other, label in ((best, "best"), (floor, "random")):
            if other in wide and other != method:
                test = model_level_wilcoxon(wide, method, other)
                row[f"diff_vs_{label}"], row[f"p_vs_{label}"] = test["mean_diff"], test["pvalue"]
            else:
                row[f"diff_vs_{label}"], row[f"p_vs_{label}"] = 0.0, float("nan")
        row["test_unit"] = "model" if several else "example"
        rows.append(row)
    return pd.DataFrame(rows)
