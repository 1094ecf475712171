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
"""
from __future__ import annotations

import json
import math
import operator
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import pandas as pd

__all__ = ["Check", "Target", "UnknownTargetError", "at_least", "at_most", "holds", "within",
           "reproduction_row", "reproduction_table", "targets_frame", "write_reproduction_rows", "NOT_YET"]

NOT_YET = "not yet reproduced by the pipeline"
ROW_COLUMNS = ["id", "ours", "measures", "note", "scale"]
TABLE_COLUMNS = ["id", "source", "experiment", "paper", "ours", "criterion", "reproduced", "scale", "note"]

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
    ours without a pass/fail verdict (a figure to compare by eye).
    """

    id: str
    source: str
    experiment: str
    paper: str
    checks: tuple[Check, ...] = ()
    note: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def criterion(self) -> str:
        return " and ".join(c.describe() for c in self.checks) if self.checks else "compared by eye"

    def evaluate(self, measures: Mapping[str, float | bool]) -> bool | None:
        if not self.checks:
            return None
        results = [c.holds(measures) for c in self.checks]
        if any(r is None for r in results):
            return None
        return all(results)


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
        if rec is None:
            table.append({"id": t.id, "source": t.source, "experiment": t.experiment, "paper": t.paper,
                          "ours": "", "criterion": t.criterion, "reproduced": None, "scale": "", "note": NOT_YET})
            continue
        measures = json.loads(rec["measures"]) if rec["measures"] else {}
        note = "; ".join(n for n in (str(rec["note"]), t.note) if n)
        table.append({"id": t.id, "source": t.source, "experiment": t.experiment, "paper": t.paper,
                      "ours": rec["ours"], "criterion": t.criterion, "reproduced": t.evaluate(measures),
                      "scale": rec["scale"], "note": note})
    return pd.DataFrame(table, columns=TABLE_COLUMNS)


def targets_frame(targets: Sequence[Target]) -> pd.DataFrame:
    """The declared targets as a table (for notebooks and docs)."""
    return pd.DataFrame([{"id": t.id, "source": t.source, "experiment": t.experiment, "paper": t.paper,
                          "criterion": t.criterion} for t in targets])

