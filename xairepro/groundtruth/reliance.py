"""The reliance check: does a trained model use the planted evidence?

Every test example is shown three times: with the evidence of class ``k`` present, with it removed,
and with it swapped for the evidence of another class ``k'`` at the same units. Per condition,
``accuracy`` is the share of predictions equal to the class of the evidence the condition is about
(``k`` for present and removed, ``k'`` for swapped) and ``evidence_class_prob`` the mean probability of
that class. :func:`relies` is the one rule that turns the table into a verdict; :func:`depends_on_evidence`
is the filter of the examples that are scored.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

__all__ = ["CONDITIONS", "RELIANCE_COLUMNS", "depends_on_evidence", "relies", "reliance_table", "task_verdicts"]

CONDITIONS = ("present", "removed", "swapped")
RELIANCE_COLUMNS = ["task", "modality", "model", "replicate", "condition", "n_examples", "accuracy",
                    "evidence_class_prob"]


def reliance_table(probs: Mapping[str, np.ndarray], evidence_class, swapped_class, labels: Mapping) -> pd.DataFrame:
    """One row per condition of ``probs`` (``{condition: (N, n_classes) probabilities}``), labelled with
    ``labels`` (task, modality, model, replicate)."""
    k, k2 = np.asarray(evidence_class).reshape(-1), np.asarray(swapped_class).reshape(-1)
    rows = []
    for cond in CONDITIONS:
        p = np.asarray(probs[cond], float)
        if p.shape[0] != len(k):
            raise ValueError(f"reliance: {p.shape[0]} predictions under {cond} for {len(k)} examples")
        cls = k2 if cond == "swapped" else k
        rows.append(dict(labels, condition=cond, n_examples=int(len(k)),
                         accuracy=float((p.argmax(1) == cls).mean()) if len(k) else float("nan"),
                         evidence_class_prob=float(p[np.arange(len(k)), cls].mean()) if len(k) else float("nan")))
    return pd.DataFrame(rows, columns=RELIANCE_COLUMNS)


def relies(table: pd.DataFrame, *, min_drop: float, min_flip: float) -> bool:
    """The verdict on one model's reliance table: the model uses the evidence when removing it lowers the
    accuracy towards the evidence's class by at least ``min_drop`` (present minus removed; the test
    evidence disagrees with the picture or text it is planted in, so a model that ignores it scores
    about the same with and without) AND swapping it makes at least ``min_flip`` of the predictions
    follow the swapped-in class."""
    acc = table.set_index("condition")["accuracy"]
    missing = [c for c in CONDITIONS if c not in acc.index]
    if missing:
        raise ValueError(f"reliance table without the condition(s) {missing}")
    return bool(acc["present"] - acc["removed"] >= float(min_drop) and acc["swapped"] >= float(min_flip))


def depends_on_evidence(probs: Mapping[str, np.ndarray], evidence_class, swapped_class) -> np.ndarray:
    """The scored examples' filter: the prediction follows the evidence (predicted class ``k`` with the
    evidence of ``k`` present, and ``k'`` when it is swapped for the evidence of ``k'``)."""
    k, k2 = np.asarray(evidence_class).reshape(-1), np.asarray(swapped_class).reshape(-1)
    return (np.asarray(probs["present"]).argmax(1) == k) & (np.asarray(probs["swapped"]).argmax(1) == k2)


def task_verdicts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Per task (rows of ``verdicts``: one per model, columns ``task``, ``relies``, ``n_scored``): the
    models, how many rely on the evidence, the examples scored over them, and the task's verdict:
    ``passed`` when every model relies, ``partly: failing models not scored`` when some do, ``failed:
    not scored`` when none does (the known-answer scores of that task are then empty)."""
    per_task = verdicts.groupby("task", sort=False).agg(models=("relies", "size"), relying=("relies", "sum"),
                                                        examples_scored=("n_scored", "sum"))
    per_task["relying"] = per_task["relying"].astype(int)
    per_task["task verdict"] = [
        "failed: not scored" if r == 0 else "partly: failing models not scored" if r < m else "passed"
        for m, r in zip(per_task["models"], per_task["relying"])]
    return per_task
