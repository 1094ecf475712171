"""One faithfulness metric for every method, modality and removal operator: deletion (MoRF),
least-relevant-first (LeRF) and insertion curves, their AOPC, and the pool-independent upper bound.

For each example the units (atoms, pixels, tokens; :mod:`xairepro.evaluation.units`) are ordered
by the attribution's score, highest first. A unit says *which* parts are removed; its ``operator``
(the registered name, ``"baseline"`` for the fixed-baseline removal) says *how*. Curves:

* *deletion* (MoRF): removes the top units step by step and records the model's score for the
  explained output. Deletion AOPC (area over the perturbation curve, Samek et al. 2017) is the mean
  over the steps k = 0..K of f(x) - f(x with the top-k units removed); higher is more faithful. The
  "Gradients of counterfactuals" pixel-ablation figure is this curve.
* *lerf* (least relevant first): removes the lowest-ranked units first (the order of the negated
  scores, ties in unit order); LeRF AOPC is the same mean drop along it, lower is more faithful.
  SRG (the symmetric relevance gain, Bluecher et al. 2024) is the area under the LeRF curve minus
  the area under the MoRF curve; with both areas read as f(x) - AOPC it is deletion AOPC - LeRF
  AOPC. Higher is more faithful.
* *insertion*: starts with every unit removed and puts them back in the deletion order; insertion AUC
  is the mean over the steps of f(x with the top-k units present) - f(all removed), higher is more
  faithful.

``upper_aopc`` is the deletion AOPC of the best order a search finds without looking at any method
(:mod:`.bounds`). The random order (the registered method ``random``: several seeded uniform orders
per example, their curves averaged) is the floor. The metric takes
:class:`~xairepro.attribution.Explanation` objects, or per-unit scores already reduced, and never
knows which method produced them.

Every model evaluation goes through one :class:`RowCache` per operator: the rows (an example with a
set of units removed) of the bound's search are packed over the examples, and each method's rows
(every mode, sample and example) are deduplicated and packed into forward passes of at most
``max_batch`` rows; a method's rows share no forward pass with another method's, so its numbers do not
move when a method joins or leaves (the rows every method needs, f(x) and the fully removed example,
and the search's, are computed first and read by all).
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..names import FLOOR_METHOD
from .stats import model_level_test
from .orders import MODES, ranking_order, removal_masks
from .units import Unit

__all__ = ["DEFAULT_OPERATOR", "RowCache", "Study", "faithfulness_curves", "faithfulness_study",
           "faithfulness_summary", "of_operator", "operator_name", "score_sets"]

#: deletion = most relevant first (MoRF), lerf = least relevant first, insertion = put back in MoRF order
#: the operator of every experiment's first (default) removal: the fixed baseline
DEFAULT_OPERATOR = "baseline"
#: per-example metric columns, in order
METRICS = ("deletion_aopc", "insertion_auc", "lerf_aopc", "srg", "upper_aopc")


def operator_name(unit: Unit) -> str:
    """The registered operator a unit removes with (``"baseline"`` for a unit without one)."""
    return str(getattr(unit, "operator", DEFAULT_OPERATOR))


def of_operator(table: pd.DataFrame, operator: str = DEFAULT_OPERATOR) -> pd.DataFrame:
    """The rows of one removal operator (per-example rows, curves, summary, bounds); a table without
    an ``operator`` column is returned as it is."""
    return table[table["operator"] == operator] if "operator" in table else table


class RowCache:
    """Model scores of rows (example ``i`` with a boolean set of units removed) under one unit's
    operator.

    :meth:`request` registers rows and returns their slots; :meth:`run` evaluates the pending rows in
    forward passes of at most ``max_batch`` rows (consecutive rows of one example go in one piece);
    :meth:`values` reads slots back. Rows are deduplicated within a *block*: the ``shared`` block
    (the bound's search, and f(x) and the fully removed example) is read by every owner; every other
    owner (a method) has a block of its own, computed in forward passes of its own rows only. So a
    method's numbers never depend on which other methods are evaluated, even where a model's float
    results depend on the batch composition (a convolution on the CPU does, in the last bits). Each
    pass's seconds are split over its rows and booked to the rows' owners (:attr:`seconds`,
    :attr:`rows_of`)."""

    SHARED = ""

    def __init__(self, model, examples: Sequence, unit: Unit, *, targets: Sequence[int] | None = None,
                 score_fn: Callable | None = None, max_batch: int = 2048):
        if int(max_batch) < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.model, self.examples, self.unit = model, examples, unit
        self.targets, self.score_fn, self.max_batch = targets, score_fn, int(max_batch)
        self._slot: dict[str, list[dict[bytes, int]]] = {}
        self._rows: list[tuple[int, np.ndarray, str, str]] = []  # example, mask, block, owner
        self._values = np.zeros(0)
        self.seconds: dict[str, float] = {}
        self.rows_of: dict[str, int] = {}
        self.n_calls = 0

    def _store(self, block: str) -> list[dict[bytes, int]]:
        if block not in self._slot:
            self._slot[block] = [dict() for _ in self.examples]
        return self._slot[block]

    def request(self, i: int, masks, owner: str = "", shared: bool = False) -> np.ndarray:
        """Slots of the rows of ``masks`` (``(K, n)`` booleans) for example ``i``, in ``owner``'s block
        (or the shared one)."""
        masks = np.asarray(masks, dtype=bool)
        slots = np.empty(len(masks), dtype=np.int64)
        block = self.SHARED if shared else f"#{owner}"
        common, own = self._store(self.SHARED)[i], self._store(block)[i]
        for r, row in enumerate(masks):
            key = np.packbits(row).tobytes() + len(row).to_bytes(4, "little")
            slot = common.get(key, own.get(key))
            if slot is None:
                slot = own[key] = len(self._rows)
                self._rows.append((i, row, block, owner))
                self.rows_of[owner] = self.rows_of.get(owner, 0) + 1
            slots[r] = slot
        return slots

    @property
    def n_rows(self) -> int:
        return len(self._rows)

    @torch.no_grad()
    def run(self) -> None:
        """Evaluate the pending rows, block by block."""
        start = len(self._values)
        if start == len(self._rows):
            return
        values = np.concatenate([self._values, np.empty(len(self._rows) - start)])
        blocks: dict[str, list[int]] = {}
        for slot in range(start, len(self._rows)):
            blocks.setdefault(self._rows[slot][2], []).append(slot)
        was_training = self.model.training
        self.model.eval()
        try:
            for slots in blocks.values():
                for lo in range(0, len(slots), self.max_batch):
                    self._forward(slots[lo:lo + self.max_batch], values)
        finally:
            self.model.train(was_training)
        self._values = values

    def _forward(self, slots: list[int], values: np.ndarray) -> None:
        pieces: list[tuple[int, list[np.ndarray]]] = []
        for slot in slots:
            i, row = self._rows[slot][:2]
            if pieces and pieces[-1][0] == i:
                pieces[-1][1].append(row)
            else:
                pieces.append((i, [row]))
        tic = time.perf_counter()
        y = self.unit.forward_removed(self.model, [self.examples[i] for i, _ in pieces],
                                      [torch.from_numpy(np.stack(rows)) for _, rows in pieces])
        if self.score_fn is not None:
            y = self.score_fn(y)
        y = y.float().reshape(y.shape[0], -1).cpu().numpy()
        seconds = time.perf_counter() - tic
        self.n_calls += 1
        cols = np.array([0 if self.targets is None else int(self.targets[self._rows[s][0]]) for s in slots])
        values[slots] = y[np.arange(len(slots)), cols]
        for s in slots:
            owner = self._rows[s][3]
            self.seconds[owner] = self.seconds.get(owner, 0.0) + seconds / len(slots)

    def values(self, slots) -> np.ndarray:
        return self._values[np.asarray(slots)]


def _check_counts(examples: Sequence, scores: Sequence[np.ndarray], unit: Unit) -> None:
    if len(scores) != len(examples):
        raise ValueError(f"{len(scores)} score arrays for {len(examples)} examples")
    for i, (ex, s) in enumerate(zip(examples, scores)):
        if len(s) != unit.count(ex):
            raise ValueError(f"example {i}: {len(s)} scores for {unit.count(ex)} {unit.name}s")


def faithfulness_curves(model, examples: Sequence, scores: Sequence[np.ndarray], unit: Unit, *,
                        fractions: np.ndarray, mode: str = "deletion", targets: Sequence[int] | None = None,
                        score_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                        max_batch: int = 2048) -> np.ndarray:
    """``(n_examples, len(fractions))`` model scores along each example's curve.

    ``scores[i]`` holds one number per unit of example i; ``targets[i]`` the output column
    explained (default 0); ``score_fn`` maps the raw output first (e.g. softmax).
    """
    _check_counts(examples, scores, unit)
    cache = RowCache(model, examples, unit, targets=targets, score_fn=score_fn, max_batch=max_batch)
    slots = [cache.request(i, removal_masks(ranking_order(s, mode), fractions, mode).numpy())
             for i, s in enumerate(scores)]
    cache.run()
    return np.stack([cache.values(s) for s in slots]) if slots else np.zeros((0, len(fractions)))


def _aopc(curve: np.ndarray, mode: str) -> np.ndarray:
    return (curve - curve[:, :1]).mean(1) if mode == "insertion" else (curve[:, :1] - curve).mean(1)


def score_sets(explanation, examples: Sequence, unit: Unit, aggregation: str) -> list[list[np.ndarray]]:
    """The rankings to evaluate for one method: one set of per-unit scores, or one per sample for an
    explanation whose samples are orders (the random one)."""
    if not hasattr(explanation, "unit_samples"):  # per-unit scores already reduced
        return [list(explanation)]
    if explanation.each_sample_is_an_order:
        per_example = explanation.unit_samples(unit, examples, aggregation)
        return [[u[m] for u in per_example] for m in range(explanation.M)]
    return [explanation.units(unit, examples, aggregation)]


class Study(NamedTuple):
    """What :func:`faithfulness_study` measures.

    per_example
        method, operator, example, deletion_aopc, insertion_auc, lerf_aopc, srg, upper_aopc.
    curves
        method, operator, mode (deletion, lerf, insertion), fraction, mean, sem over examples.
    bounds
        one row per example and operator (:func:`~.bounds.bound_rows`; empty without a bound).
    cost
        method, operator, curve_seconds, curve_rows: the forward passes of that method's curves under
        that operator (each pass's seconds split over its rows; a row two methods share is booked to
        the first).
    """

    per_example: pd.DataFrame
    curves: pd.DataFrame
    bounds: pd.DataFrame
    cost: pd.DataFrame


def faithfulness_study(model, examples: Sequence, explanations: Mapping, unit: Unit, *, fractions: np.ndarray,
                       targets: Sequence[int] | None = None, score_fn: Callable | None = None,
                       aggregation: str | Mapping[str, str] = "raw", max_batch: int = 2048,
                       example_ids: Sequence | None = None, operators: Optional[Mapping[str, Unit]] = None,
                       bound=None) -> Study:
    """Deletion, LeRF and insertion curves of every method under every operator, and the bound.

    ``explanations``: ``{method: Explanation}`` of the ``examples`` (or ``{method: [per-unit scores of
    each example]}``); each explanation is reduced to units by ``unit`` after the elementwise
    ``aggregation`` (one for all, or ``{method: aggregation}``); the rankings are the same under every
    operator. ``operators``: ``{name: operator-bound unit}`` (default: ``unit`` under its own
    operator); each must count the same units as ``unit``. ``bound``: a
    :class:`~.bounds.BoundConfig` (None: no search, ``upper_aopc`` is NaN). Per operator the bound's
    search runs first, on rows of its own (so its result never depends on the methods evaluated),
    then every method's curves go through the same :class:`RowCache`, each method's rows in forward
    passes of their own (its modes, samples and examples packed together) reading the shared rows.
    """
    from .bounds import bound_rows, search_bounds

    fractions = np.asarray(fractions, dtype=float)
    ids = list(example_ids) if example_ids is not None else list(range(len(examples)))
    operators = dict(operators) if operators else {operator_name(unit): unit}
    rankings = {}
    for name, explanation in explanations.items():
        reading = aggregation.get(name, "raw") if isinstance(aggregation, Mapping) else aggregation
        rankings[name] = score_sets(explanation, examples, unit, reading)
        for s in rankings[name]:
            _check_counts(examples, s, unit)
    per_example, curve_rows, bound_tables, cost_rows = [], [], [], []
    for op, op_unit in operators.items():
        for i, ex in enumerate(examples):
            if op_unit.count(ex) != unit.count(ex):
                raise ValueError(f"operator {op!r}: example {i} has {op_unit.count(ex)} units, "
                                 f"the ranking unit {unit.count(ex)}")
        cache = RowCache(model, examples, op_unit, targets=targets, score_fn=score_fn, max_batch=max_batch)
        upper = np.full(len(examples), np.nan)
        found = None
        if bound is not None and len(examples):
            found = search_bounds(cache, examples, op_unit, fractions, bound)
            upper = np.array([b.upper_aopc for b in found])
        for i, ex in enumerate(examples):  # f(x) and every unit removed: read by every method
            n = unit.count(ex)
            cache.request(i, np.stack([np.zeros(n, dtype=bool), np.ones(n, dtype=bool)]), owner="shared",
                          shared=True)
        slots = {name: {mode: [[cache.request(i, removal_masks(ranking_order(s[i], mode), fractions, mode).numpy(),
                                              owner=name) for i in range(len(examples))] for s in sets]
                        for mode in MODES} for name, sets in rankings.items()}
        cache.run()
        aopc_of = {}
        for name, by_mode in slots.items():
            summary = {}
            for mode, per_sample in by_mode.items():
                curves = np.mean([np.stack([cache.values(s) for s in sample]) for sample in per_sample], axis=0)
                summary[mode] = _aopc(curves, mode)
                sem = curves.std(0, ddof=1) / np.sqrt(len(curves)) if len(curves) > 1 else np.zeros(len(fractions))
                curve_rows += [{"method": name, "operator": op, "mode": mode, "fraction": f, "mean": m, "sem": e}
                               for f, m, e in zip(fractions, curves.mean(0), sem)]
            aopc_of[name] = summary["deletion"]
            per_example += [{"method": name, "operator": op, "example": ids[i],
                             "deletion_aopc": summary["deletion"][i], "insertion_auc": summary["insertion"][i],
                             "lerf_aopc": summary["lerf"][i], "srg": summary["deletion"][i] - summary["lerf"][i],
                             "upper_aopc": upper[i]} for i in range(len(examples))]
            cost_rows.append({"method": name, "operator": op, "curve_seconds": float(cache.seconds.get(name, 0.0)),
                              "curve_rows": int(cache.rows_of.get(name, 0))})
        if found is not None:
            bound_tables.append(bound_rows(found, aopc_of, ids, op))
    columns = ["method", "operator", "example", *METRICS]
    return Study(per_example=pd.DataFrame(per_example, columns=columns),
                 curves=pd.DataFrame(curve_rows, columns=["method", "operator", "mode", "fraction", "mean", "sem"]),
                 bounds=pd.concat(bound_tables, ignore_index=True) if bound_tables else bound_rows([], {}, [], ""),
                 cost=pd.DataFrame(cost_rows, columns=["method", "operator", "curve_seconds", "curve_rows"]))


def faithfulness_summary(per_example: pd.DataFrame, metric: str = "deletion_aopc",
                         floor: str = FLOOR_METHOD) -> pd.DataFrame:
    """One row per operator and method, ranked within the operator by mean ``metric`` (1 = most
    faithful): mean and standard error of the deletion AOPC (or ``metric``), insertion AUC, LeRF AOPC
    and SRG, and paired tests of each method against the top-ranked method and against the ``floor``
    order (the random one).

    Rows of several trained models (a ``replicate`` column with more than one value: ESOL's folds,
    Tox21's subset models) are compared at the level of the models
    (:func:`~.stats.model_level_test`: each model's mean is one pair, ``n_models`` of them; the paired
    t-test below 6 models, the Wilcoxon signed-rank test from 6) and the standard errors are over the
    models' means; with one model the examples are the pairs of a Wilcoxon test. Rows
    without an ``operator`` column are one operator, :data:`DEFAULT_OPERATOR`. Rows of several
    ``model`` names (a classifier and its dropout variant) are refused: each is summarised alone."""
    if "model" in per_example and per_example["model"].nunique() > 1:
        # two networks' scores on the same example id would be averaged into one pair: summarise each alone
        raise ValueError("faithfulness_summary: rows of several models "
                         f"({', '.join(map(str, per_example['model'].unique()))}); summarise each model on its own")
    if "operator" not in per_example:
        per_example = per_example.assign(operator=DEFAULT_OPERATOR)
    tables = [_summary_of_operator(rows, metric, floor).assign(operator=op)
              for op, rows in per_example.groupby("operator", sort=False)]
    if not tables:
        return pd.DataFrame()
    out = pd.concat(tables, ignore_index=True)
    return out[["operator", *[c for c in out.columns if c != "operator"]]]


def _summary_of_operator(per_example: pd.DataFrame, metric: str, floor: str) -> pd.DataFrame:
    index = ["replicate", "example"] if "replicate" in per_example else ["example"]
    wide = per_example.pivot_table(index=index, columns="method", values=metric)
    extra = [m for m in ("insertion_auc", "lerf_aopc", "srg") if m != metric and m in per_example]
    others = {m: per_example.pivot_table(index=index, columns="method", values=m) for m in extra}
    several = "replicate" in index and wide.index.get_level_values("replicate").nunique() > 1

    def sem(table, method):
        col = table[method].dropna() if method in table else pd.Series(dtype=float)
        return float((col.groupby(level="replicate").mean() if several else col).sem())

    means = wide.mean().sort_values(ascending=False)
    best = means.index[0]
    rows = []
    for rank, (method, mean) in enumerate(means.items(), start=1):
        row = {"method": method, "rank": rank, metric: float(mean), f"{metric}_sem": sem(wide, method)}
        for m, table in others.items():
            row[m] = float(table[method].mean()) if method in table else float("nan")
            row[f"{m}_sem"] = sem(table, method)
        row["n_examples"] = int(wide[method].notna().sum())
        for other, label in ((best, "best"), (floor, "random")):
            if other in wide and other != method:
                test = model_level_test(wide, method, other)
                row[f"diff_vs_{label}"], row[f"p_vs_{label}"] = test["mean_diff"], test["pvalue"]
            else:
                row[f"diff_vs_{label}"], row[f"p_vs_{label}"] = 0.0, float("nan")
        row["test_unit"] = "model" if several else "example"
        rows.append(row)
    return pd.DataFrame(rows)
