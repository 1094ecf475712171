"""Paper targets as data, and the reproduction table that joins measured rows onto them.

Every experiment declares its targets (``xairepro/experiments/<name>/targets.py``): a stable id,
the source work, what is measured, the paper's value as printed, and the checks that decide
whether our measurement reproduces it. Thresholds live here, in the declaration, never in the
code that measures. An experiment's reproduction rule writes rows that carry a target id, our
value as text, and the named measures the checks read::

    id,ours,measures,note,scale
    bayesgrad.esol.nfp.r,0.863,"{""value"": 0.863}",,quick

:func:`reproduction_table` joins the rows onto the declared targets: a declared target without a
row is listed as "not yet reproduced", a row whose id is not declared stops the build with an
error naming the id and the file.

Verdicts (column ``verdict``): *reproduced*, *not reproduced*, *compare by eye* (a figure without a
pass/fail check), *not yet* (no row), *not applicable* (the claim needs what this adaptation does
not have, say ImageNet bounding boxes: declared with the reason, never measured), and for a claim
the paper makes from one trained model, measured over seeds (``over_seeds=True``: the row's
``per_seed`` measures, one dict per seed), a verdict from the 95% Wilson interval of the share of
seeds where the checks hold (the holding rate; statsmodels ``proportion_confint``): *reproduced* when
the interval lies at or above :data:`HOLDING_RATE` (one half: most trained models of the configuration
show the claim, so it is a property of the configuration, not of one lucky model), *not reproduced*
when it lies below, *unstable* when it straddles it. The interval, not a count against a fixed share,
decides, so one seed more or less (or another machine's slightly different models) moves the verdict
only when the evidence itself moves; few seeds cannot reproduce a claim (3 of 3: the interval is
[0.44, 1]; 4 of 4 is the fewest that reproduce, 0 of 4 the fewest that do not).
"""
from __future__ import annotations

import json
import math
import operator
import os
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import pandas as pd

__all__ = ["Check", "HOLDING_RATE", "SEED_CONFIDENCE", "Target", "UnknownTargetError", "VERDICTS", "at_least",
           "at_most", "holding_interval", "holds", "seed_verdict", "within", "reproduction_row", "reproduction_table",
           "seed_summary", "targets_frame", "write_reproduction_rows", "NOT_YET"]

NOT_YET = "not yet reproduced by the pipeline"
ROW_COLUMNS = ["id", "ours", "measures", "note", "scale"]
TABLE_COLUMNS = ["id", "verdict", "source", "experiment", "paper", "ours", "criterion", "reproduced", "seeds",
                 "holding_rate", "scale", "note"]
REPRODUCED, NOT_REPRODUCED, UNSTABLE = "reproduced", "not reproduced", "unstable"
BY_EYE, NOT_YET_VERDICT, NOT_APPLICABLE = "compare by eye", "not yet", "not applicable"
#: Every verdict a target can get, in the order the report's dashboard counts them.
VERDICTS = (REPRODUCED, NOT_REPRODUCED, UNSTABLE, BY_EYE, NOT_YET_VERDICT, NOT_APPLICABLE)

#: Over seeds: the holding rate the Wilson interval is compared with, and the interval's confidence.
HOLDING_RATE = 0.5
SEED_CONFIDENCE = 0.95

_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


class UnknownTargetError(ValueError):
    """A reproduction row names a target id that no experiment declares."""


@dataclass(frozen=True)
class Check:
    """One condition on a named measure: ``measure op threshold``, or ``|measure - center| <= tol``
    when ``op`` is ``"within"`` (then ``threshold`` is the tolerance and ``center`` the paper value)."""

    measure: str
    op: str
    threshold: float | bool
    center: float | None = None

    def __post_init__(self):
        if self.op not in _OPS and self.op != "within":
            raise ValueError(f"unknown check operator {self.op!r}; known: {sorted(_OPS) + ['within']}")
        if self.op == "within" and self.center is None:
            raise ValueError("a 'within' check needs a center")

    def holds(self, measures: Mapping[str, float | bool]) -> bool | None:
        if self.measure not in measures:
            raise KeyError(f"measure {self.measure!r} missing (have {sorted(measures)})")
        value = measures[self.measure]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        if self.op == "within":
            return abs(float(value) - float(self.center)) <= float(self.threshold)
        return bool(_OPS[self.op](value, self.threshold))

    def describe(self) -> str:
        if self.op == "within":
            return f"|{self.measure} - {self.center:g}| <= {self.threshold:g}"
        if isinstance(self.threshold, bool):
            return f"{self.measure} is {'true' if self.threshold else 'false'}"
        return f"{self.measure} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Target:
    """One number or claim of a source work that the pipeline reproduces.

    ``id`` is stable (``<source>.<experiment>.<what>``); rows and notebooks refer to it.
    ``checks`` all must hold for "reproduced"; an empty tuple means the claim is shown beside
    ours without a pass/fail verdict (a figure to compare by eye). ``over_seeds``: a claim the
    paper makes from one model, checked on each seed's measures (the row's ``per_seed``) and decided by
    :func:`seed_verdict`. ``not_applicable``: why the
    pipeline cannot measure this claim (the target is listed with that reason and no row).
    """

    id: str
    source: str
    experiment: str
    paper: str
    checks: tuple[Check, ...] = ()
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)
    over_seeds: bool = False
    not_applicable: str = ""

    def __post_init__(self):
        if self.over_seeds and not self.checks:
            raise ValueError(f"{self.id}: a claim over seeds needs checks")

    @property
    def criterion(self) -> str:
        if not self.checks:
            return "compared by eye"
        text = " and ".join(c.describe() for c in self.checks)
        if self.over_seeds:
            text += (f", per seed: reproduced when the {SEED_CONFIDENCE:.0%} Wilson interval of the share of seeds "
                     f"where it holds lies at or above {HOLDING_RATE:.0%}, not reproduced when below, unstable "
                     f"when it straddles {HOLDING_RATE:.0%}")
        return text

    def evaluate(self, measures: Mapping[str, float | bool]) -> bool | None:
        if not self.checks:
            return None
        if self.over_seeds:
            verdict, _ = self.verdict(measures)
            return {REPRODUCED: True, NOT_REPRODUCED: False}.get(verdict)
        results = [c.holds(measures) for c in self.checks]
        if any(r is None for r in results):
            return None
        return all(results)

    def seed_counts(self, measures: Mapping) -> tuple[int, int]:
        """(seeds where every check holds, seeds measured) from ``measures["per_seed"]``."""
        per_seed = measures.get("per_seed")
        if not isinstance(per_seed, list) or not per_seed:
            raise KeyError(f"{self.id}: a claim over seeds needs the measures 'per_seed' (one dict per seed)")
        results = [[c.holds(m) for c in self.checks] for m in per_seed]
        measured = [r for r in results if all(x is not None for x in r)]
        return sum(all(r) for r in measured), len(measured)

    def verdict(self, measures: Mapping | None) -> tuple[str, str]:
        """``(verdict, seeds)``: one of :data:`VERDICTS` and, over seeds, ``"k/n"``."""
        if self.not_applicable:
            return NOT_APPLICABLE, ""
        if measures is None:
            return NOT_YET_VERDICT, ""
        if not self.checks:
            return BY_EYE, ""
        if self.over_seeds:
            k, n = self.seed_counts(measures)
            if n == 0:
                return BY_EYE, "0/0"
            return seed_verdict(k, n), f"{k}/{n}"
        result = self.evaluate(measures)
        return (BY_EYE if result is None else REPRODUCED if result else NOT_REPRODUCED), ""


def holding_interval(k: int, n: int) -> tuple[float, float]:
    """The :data:`SEED_CONFIDENCE` Wilson interval of the holding rate ``k`` of ``n`` seeds."""
    from statsmodels.stats.proportion import proportion_confint

    if not 0 <= k <= n or n < 1:
        raise ValueError(f"need 0 <= k <= n and n >= 1, got k={k}, n={n}")
    lo, hi = proportion_confint(k, n, alpha=1 - SEED_CONFIDENCE, method="wilson")
    return float(lo), float(hi)


def seed_verdict(k: int, n: int) -> str:
    """The verdict of a claim that holds in ``k`` of ``n`` seeds: *reproduced* when the Wilson interval
    of the holding rate lies at or above :data:`HOLDING_RATE`, *not reproduced* when it lies below,
    *unstable* when it straddles it."""
    lo, hi = holding_interval(k, n)
    if lo >= HOLDING_RATE:
        return REPRODUCED
    if hi < HOLDING_RATE:
        return NOT_REPRODUCED
    return UNSTABLE


def _holding_text(seeds: str) -> str:
    """``"k/n"`` as ``"0.80 [0.58, 0.92]"`` (the holding rate and its Wilson interval); '' otherwise."""
    if not seeds or "/" not in seeds or seeds.endswith("/0"):
        return ""
    k, n = (int(x) for x in seeds.split("/"))
    lo, hi = holding_interval(k, n)
    return f"{k / n:.2f} [{lo:.2f}, {hi:.2f}]"


def at_least(x: float, measure: str = "value") -> Check:
    return Check(measure, ">=", x)


def at_most(x: float, measure: str = "value") -> Check:
    return Check(measure, "<=", x)


def within(center: float, tol: float, measure: str = "value") -> Check:
    return Check(measure, "within", tol, center)


def holds(measure: str = "value") -> Check:
    return Check(measure, "==", True)


def reproduction_row(target_id: str, ours: str | float, scale: str, note: str = "", **measures) -> dict:
    """One row for the reproduction CSV; ``measures`` are the named numbers the target's checks read
    (a plain number is passed as ``value=``)."""
    clean = {k: (v.item() if hasattr(v, "item") else v) for k, v in measures.items()}
    return {"id": target_id, "ours": ours if isinstance(ours, str) else f"{float(ours):.4g}",
            "measures": json.dumps(clean, sort_keys=True), "note": note, "scale": scale}


def seed_summary(values: Sequence[float]) -> dict:
    """Median and spread (min, max, interquartile range) of one measure over seeds, for a row's note
    and measures."""
    import numpy as np

    v = np.asarray([x for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))], float)
    if not len(v):
        return {"n": 0}
    q1, q3 = np.percentile(v, [25, 75])
    return {"n": int(len(v)), "median": float(np.median(v)), "min": float(v.min()), "max": float(v.max()),
            "iqr": float(q3 - q1)}


def write_reproduction_rows(rows: Sequence[dict], path: str | os.PathLike) -> None:
    pd.DataFrame(list(rows), columns=ROW_COLUMNS).to_csv(path, index=False)


def _read_rows(csvs: Iterable[str | os.PathLike]) -> list[tuple[str, dict]]:
    out = []
    for path in csvs:
        frame = pd.read_csv(path, dtype={"ours": str, "note": str}, keep_default_na=False)
        missing = [c for c in ROW_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{path}: reproduction rows lack column(s) {missing}; expected {ROW_COLUMNS}")
        out += [(str(path), rec) for rec in frame.to_dict("records")]
    return out


def reproduction_table(csvs: Iterable[str | os.PathLike], targets: Sequence[Target]) -> pd.DataFrame:
    """Every declared target in declaration order, with our row joined on its id.

    Raises :class:`UnknownTargetError` naming the id and file when a row's id is not declared, and
    ``ValueError`` when two targets share an id or one id has two rows.
    """
    by_id: dict[str, Target] = {}
    for t in targets:
        if t.id in by_id:
            raise ValueError(f"target id {t.id!r} is declared twice")
        by_id[t.id] = t
    rows: dict[str, dict] = {}
    for path, rec in _read_rows(csvs):
        tid = rec["id"]
        if tid not in by_id:
            raise UnknownTargetError(f"{path}: row with target id {tid!r} is not declared by any experiment "
                                     f"(declare it in xairepro/experiments/<name>/targets.py)")
        if tid in rows:
            raise ValueError(f"{path}: target id {tid!r} has more than one row")
        rows[tid] = rec
    table = []
    for t in targets:
        rec = rows.get(t.id)
        base = {"id": t.id, "source": t.source, "experiment": t.experiment, "paper": t.paper, "criterion": t.criterion}
        if t.not_applicable:
            table.append({**base, "verdict": NOT_APPLICABLE, "ours": "", "reproduced": None, "seeds": "",
                          "holding_rate": "", "scale": "", "note": "; ".join(n for n in (t.not_applicable, t.note) if n)})
            continue
        if rec is None:
            table.append({**base, "verdict": NOT_YET_VERDICT, "ours": "", "reproduced": None, "seeds": "",
                          "holding_rate": "", "scale": "", "note": NOT_YET})
            continue
        measures = json.loads(rec["measures"]) if rec["measures"] else {}
        verdict, seeds = t.verdict(measures)
        note = "; ".join(n for n in (str(rec["note"]), t.note) if n)
        table.append({**base, "verdict": verdict, "ours": rec["ours"], "reproduced": t.evaluate(measures),
                      "seeds": seeds, "holding_rate": _holding_text(seeds), "scale": rec["scale"], "note": note})
    return pd.DataFrame(table, columns=TABLE_COLUMNS)


def targets_frame(targets: Sequence[Target]) -> pd.DataFrame:
    """The declared targets as a table (for notebooks and docs)."""
    return pd.DataFrame([{"id": t.id, "source": t.source, "experiment": t.experiment, "paper": t.paper,
                          "criterion": t.criterion} for t in targets])

