"""The pool-independent upper bound of the deletion AOPC: per example and removal operator, the best
deletion order a search finds without looking at any attribution method (the idea of NAOPC, Edin et
al. 2025; this is our own search).

The deletion AOPC of an order depends only on the nested sets of units it removes at the curve's
points k_j = rint(fraction_j * n) (:func:`~.orders.removal_masks`). The search:

* **exhaustive** where the units are few (``n <= exhaustive_units``, iris's 4 features: all 24
  orders): every order's curve is evaluated (the rows are deduplicated, 16 distinct sets for iris)
  and the best is kept. This is the true optimum.
* **beam search** elsewhere, over the curve's own removal steps: the beam holds the ``width`` best
  partial orders by their partial AOPC (the sum over the searched points so far of f(x) - f(x without
  the removed units)). At point j every beam order is extended by the ``k_j - k_{j-1}`` units the
  curve removes at that step, one *group* at a time (a sub-step per group; a candidate per group
  with units left, ranked by the partial AOPC with its drop), until every beam has reached k_j.
  Groups (the ``group`` column of the bounds table): runs of ``span`` consecutive units (atoms,
  tokens, residues, characters, features; by default half of what a step removes, so single units
  where a step removes one to three, runs of ten words where a step removes twenty), or, for
  pixels, ``patch`` x ``patch`` squares, since 1,024 single pixels make the search too costly (a
  group larger than the step's chunk is removed over several steps, in unit order).
  ``candidates`` > 0 tries, per sub-step, only the groups whose removal alone drops the score most
  (one row per group, once per example); ``max_steps`` > 0 searches at most that many of the curve's
  points (evenly spaced; a searched step then spans several of the curve's steps).
  The final beam's orders and ``random_orders`` seeded uniform orders (scattered removals, which a
  search over contiguous groups cannot make and which an out-of-distribution removal can reward) are
  then read at every fraction of the methods' curves and the best is kept, so ``upper_aopc`` is the deletion AOPC of a real order, on the same scale as the methods'.

Beam search is a heuristic: an order found this way is a lower bound on the true optimum, and where
a method's order scores higher on an example the row says ``covered = False``. The causes are known:
the groups (a method may remove scattered single pixels where the search removes patches), the
candidate limit, the searched points, and the beam's greediness (an order whose first steps look
poor but whose later steps are strong falls out of a narrow beam). The remedies are wider
beams, more candidates, finer groups and more search steps (config keys), never the methods' orders:
the bound is never replaced by or seeded with the best method, so it does not move when a method
joins or leaves the pool.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, fields
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .orders import removal_masks
from .units import Unit

__all__ = ["BOUND_COLUMNS", "BoundConfig", "BoundResult", "bound_coverage", "bound_rows", "search_bounds",
           "unit_groups"]

#: Columns of the bounds table (before the suite's labels).
BOUND_COLUMNS = ["operator", "example", "upper_aopc", "best_method", "best_method_aopc", "covered", "search",
                 "group", "width", "n_forward", "seconds"]
#: Seed of the search's random orders (with the example's position).
RANDOM_SEED = 20250101
#: Tolerance of ``covered``: the bound may fall short of the best method by this much.
COVER_TOLERANCE = 1e-9


@dataclass(frozen=True)
class BoundConfig:
    """Settings of the search (config ``bound:`` of a faithfulness study; every key optional).

    width: beam width (>= 5); exhaustive_units: search every order when an example has at most this
    many units; patch: side of the square pixel groups; span: consecutive units per group of the
    other units (0: half the median number of units a searched step removes, at least 1, so a step
    takes about two sub-steps); candidates: groups tried per sub-step (0 = every group with units left, else the
    groups whose removal alone drops the score most); max_steps: curve points searched (0 = every
    point); random_orders: uniformly random unit orders (seeded by the example's position) read beside
    the final beam, for the scattered removals the groups cannot make; unit_drops: 1 reads beside them
    the order of the single-unit drops (each unit removed alone, largest drop of the model's score
    first: the model's own response, n rows per example, no method's output), the scattered order a
    search over consecutive groups cannot reach (a review's sentiment words); 0 skips it."""

    width: int = 5
    exhaustive_units: int = 6
    patch: int = 2
    span: int = 0
    candidates: int = 32
    max_steps: int = 0
    random_orders: int = 8
    unit_drops: int = 1

    def __post_init__(self):
        minimum = {"width": 5, "exhaustive_units": 0, "patch": 1, "span": 0, "candidates": 0, "max_steps": 0,
                   "random_orders": 0, "unit_drops": 0}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum[f.name]:
                raise ValueError(f"bound.{f.name} must be an integer >= {minimum[f.name]}, got {value!r}")

    @classmethod
    def from_config(cls, cfg) -> "BoundConfig | None":
        """From a study's ``bound`` value: a mapping of the keys above, absent or ``{}`` for the
        defaults, ``false`` for no search."""
        if cfg is False:
            return None
        cfg = dict(cfg or {})
        unknown = set(cfg) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"bound: unknown keys {sorted(unknown)} (known: {[f.name for f in fields(cls)]})")
        return cls(**cfg)


@dataclass
class BoundResult:
    """The search's answer for one example: the unit ``order`` it found, its curve at the fractions,
    its deletion AOPC, how it was found, and the rows and seconds it took."""

    order: np.ndarray
    curve: np.ndarray
    upper_aopc: float
    search: str
    group: str
    width: int
    n_forward: int
    seconds: float


def unit_groups(unit: Unit, example, patch: int = 1, span: int = 1) -> tuple[list[np.ndarray], str]:
    """``(groups, label)``: a partition of the example's units into the search's groups (in unit
    order within a group) and the label of the bounds table. Pixels of a ``(C, H, W)`` image:
    ``patch`` x ``patch`` squares; other units: runs of ``span`` consecutive units."""
    n = unit.count(example)
    shape = tuple(getattr(example, "shape", ()))
    if unit.name == "pixel" and len(shape) == 3 and shape[-1] * shape[-2] == n:
        if patch <= 1:
            return [np.array([i]) for i in range(n)], unit.name
        h, w = shape[-2:]
        groups = []
        for top in range(0, h, patch):
            for left in range(0, w, patch):
                rows, cols = np.arange(top, min(top + patch, h)), np.arange(left, min(left + patch, w))
                groups.append((rows[:, None] * w + cols[None, :]).reshape(-1))
        return groups, f"{unit.name} {patch}x{patch} patch"
    if span <= 1:
        return [np.array([i]) for i in range(n)], unit.name
    return [np.arange(lo, min(lo + span, n)) for lo in range(0, n, span)], f"{span} consecutive {unit.name}s"


def _points(ks: np.ndarray, max_steps: int) -> np.ndarray:
    """Indices of the curve points the beam searches (always the last one)."""
    last = len(ks) - 1
    if not max_steps or max_steps >= last:
        return np.arange(1, last + 1)
    return np.unique(np.rint(np.linspace(0, last, max_steps + 1)).astype(int))[1:]


def search_bounds(cache, examples: Sequence, unit: Unit, fractions: np.ndarray, config: BoundConfig
                  ) -> list[BoundResult]:
    """The best order found per example (module docstring), its rows evaluated through ``cache`` (a
    :class:`~.faithfulness.RowCache` of ``unit``'s operator; all examples' candidates of one search
    step in the same forward passes)."""

    fractions = np.asarray(fractions, dtype=float)
    if len(fractions) < 2 or np.rint(fractions[0] * 1e9) != 0:
        raise ValueError(f"the bound's search needs a curve starting with nothing removed (fractions[0] = 0) "
                         f"and at least two points, got {fractions.tolist()}")
    tic = time.perf_counter()
    owner = [f"bound:{i}" for i in range(len(examples))]
    n_units = [unit.count(ex) for ex in examples]
    results: list[BoundResult | None] = [None] * len(examples)

    # exhaustive: every order of the few units, all examples' rows in one batch
    exhaustive = [i for i, n in enumerate(n_units) if n <= config.exhaustive_units]
    perms = {}
    for i in exhaustive:
        orders = np.array(list(itertools.permutations(range(n_units[i]))), dtype=np.int64).reshape(-1, n_units[i])
        perms[i] = (orders, [cache.request(i, removal_masks(o, fractions, "deletion").numpy(), owner=owner[i],
                                           shared=True) for o in orders])

    # beam: the empty set, and each group alone where candidates are limited
    beam = [i for i, n in enumerate(n_units) if n > config.exhaustive_units]
    state = {}
    for i in beam:
        ks = np.rint(fractions * n_units[i]).astype(int).clip(0, n_units[i])
        chunks = np.diff(ks[np.r_[0, _points(ks, config.max_steps)]])
        span = config.span or max(1, int(np.median(chunks[chunks > 0])) // 2 if (chunks > 0).any() else 1)
        groups, label = unit_groups(unit, examples[i], config.patch, span)
        alone = None
        if config.candidates and len(groups) > config.candidates:
            masks = np.zeros((len(groups), n_units[i]), dtype=bool)
            for g, units in enumerate(groups):
                masks[g, units] = True
            alone = cache.request(i, masks, owner=owner[i], shared=True)
        state[i] = dict(groups=groups, label=label, ks=ks, alone=alone,
                        f0=cache.request(i, np.zeros((1, n_units[i]), dtype=bool), owner=owner[i], shared=True)[0])
    cache.run()
    for i in exhaustive:
        orders, slots = perms[i]
        curves = np.stack([cache.values(s) for s in slots])
        aopc = (curves[:, :1] - curves).mean(1)
        best = int(np.argmax(aopc))
        results[i] = BoundResult(order=orders[best], curve=curves[best], upper_aopc=float(aopc[best]),
                                 search="exhaustive", group=unit.name, width=0, n_forward=0, seconds=0.0)
    for i in beam:
        s = state[i]
        s["f0"] = float(cache.values([s["f0"]])[0])
        # a beam entry: (order so far, removed mask, partial AOPC sum at the completed points, last score)
        s["beams"] = [(np.zeros(0, dtype=np.int64), np.zeros(n_units[i], dtype=bool), 0.0, s["f0"])]
        s["starts"] = (np.arange(len(s["groups"])) if s["alone"] is None else
                       np.argsort(-(s["f0"] - cache.values(s["alone"])), kind="stable")[:config.candidates])
        s["points"] = list(_points(s["ks"], config.max_steps))

    # beam steps: each searched point's chunk in sub-steps of one group each; all examples' candidates
    # of a sub-step in the same forward passes
    while any(state[i]["points"] for i in beam):
        pending = {}
        for i in beam:
            s = state[i]
            if not s["points"]:
                continue
            k = s["ks"][s["points"][0]]
            cands = []
            for order, removed, score, last in s["beams"]:
                left = k - len(order)
                if left <= 0:  # done with this point (or a point that removes nothing new)
                    cands.append((order, removed, score, None, last, True))
                    continue
                starts = [g for g in s["starts"] if not removed[s["groups"][g]].all()]
                if not starts:  # the limited starts are used up: every group with units left
                    starts = [g for g in range(len(s["groups"])) if not removed[s["groups"][g]].all()]
                for g in starts:
                    units = s["groups"][g]
                    chunk = units[~removed[units]][:left]
                    new = removed.copy()
                    new[chunk] = True
                    slot = cache.request(i, new[None], owner=owner[i], shared=True)[0]
                    cands.append((np.concatenate([order, chunk]), new, score, slot, None, len(chunk) == left))
            pending[i] = cands
        cache.run()
        for i, cands in pending.items():
            s = state[i]
            scored = []
            for order, removed, score, slot, last, complete in cands:
                v = last if slot is None else float(cache.values([slot])[0])
                # ranking key: the partial AOPC with this candidate's drop (complete or not yet)
                scored.append((score + s["f0"] - v, order, removed, v, complete))
            rank = np.argsort(-np.array([c[0] for c in scored]), kind="stable")
            kept, seen = [], set()
            for r in rank:
                key, order, removed, v, complete = scored[r]
                if removed.tobytes() in seen:
                    continue
                seen.add(removed.tobytes())
                kept.append((order, removed, key - (s["f0"] - v), v, complete))  # score before this point
                if len(kept) == config.width:
                    break
            if all(c[4] for c in kept):  # every beam reached the point: its drop counts, next point
                s["points"].pop(0)
                s["beams"] = [(o, r, sc + s["f0"] - v, v) for o, r, sc, v, _ in kept]
            else:
                s["beams"] = [(o, r, sc, v) for o, r, sc, v, _ in kept]

    # the final beam's orders read at every fraction (the searched points' rows are cached already;
    # with max_steps the others are new) and the random orders, the best of them kept
    drops = {}
    if config.unit_drops:
        for i in beam:
            drops[i] = cache.request(i, np.eye(n_units[i], dtype=bool), owner=owner[i], shared=True)
        cache.run()
    final = {}
    for i in beam:
        orders = [np.concatenate([order, np.flatnonzero(~removed)]).astype(np.int64)
                  for order, removed, _, _ in state[i]["beams"]]
        rng = np.random.default_rng([RANDOM_SEED, i])
        orders += [rng.permutation(n_units[i]) for _ in range(config.random_orders)]
        if i in drops:  # the lowest score with the unit alone removed: the largest drop first
            orders.append(np.argsort(np.asarray(cache.values(drops[i]), dtype=float), kind="stable").astype(np.int64))
        final[i] = [(full, cache.request(i, removal_masks(full, fractions, "deletion").numpy(), owner=owner[i],
                                         shared=True)) for full in orders]
    cache.run()
    for i in beam:
        curves = np.stack([cache.values(slots) for _, slots in final[i]])
        aopc = (curves[:, :1] - curves).mean(1)
        best = int(np.argmax(aopc))
        results[i] = BoundResult(order=final[i][best][0], curve=curves[best], upper_aopc=float(aopc[best]),
                                 search="beam", group=state[i]["label"], width=config.width, n_forward=0,
                                 seconds=0.0)
    # cost: each example's distinct rows; the search's wall time split over the examples by rows
    wall = time.perf_counter() - tic
    rows = np.array([cache.rows_of.get(o, 0) for o in owner], dtype=float)
    for i, r in enumerate(results):
        r.n_forward = int(rows[i])
        r.seconds = float(wall * rows[i] / rows.sum()) if rows.sum() else 0.0
    return results


def bound_rows(found: Sequence[BoundResult], aopc_of: Mapping[str, np.ndarray], ids: Sequence, operator: str
               ) -> pd.DataFrame:
    """The bounds table of one operator: per example the bound, the best method's deletion AOPC
    (``aopc_of``: ``{method: per-example deletion AOPC}``), whether the bound covers every method
    (``upper_aopc >= best_method_aopc - 1e-9``), and the search's kind, group, width and cost."""
    rows = []
    for i, b in enumerate(found):
        per_method = {m: float(a[i]) for m, a in aopc_of.items()}
        best = max(per_method, key=per_method.get) if per_method else ""
        best_aopc = per_method.get(best, float("nan"))
        rows.append({"operator": operator, "example": ids[i], "upper_aopc": b.upper_aopc, "best_method": best,
                     "best_method_aopc": best_aopc,
                     "covered": bool(not per_method or b.upper_aopc >= best_aopc - COVER_TOLERANCE),
                     "search": b.search, "group": b.group, "width": b.width, "n_forward": b.n_forward,
                     "seconds": b.seconds})
    return pd.DataFrame(rows, columns=BOUND_COLUMNS)


def bound_coverage(bounds: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, model and operator (the label columns present): the examples, the share the
    bound covers (``coverage``: its order at least as good as every method's), the searches and
    groups used, and the search's cost (mean forward rows per example, total seconds)."""
    keys = [k for k in ("experiment", "model", "operator") if k in bounds]
    out = bounds.groupby(keys, sort=False).agg(
        n_examples=("covered", "size"), coverage=("covered", "mean"),
        search=("search", lambda s: "+".join(sorted(set(s)))), group=("group", lambda s: "+".join(sorted(set(s)))),
        rows_per_example=("n_forward", "mean"), seconds=("seconds", "sum")).reset_index()
    return out
