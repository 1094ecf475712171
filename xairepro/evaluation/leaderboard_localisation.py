"""The leaderboard's localisation column: does a method that removes well also point at the evidence?

The known-answer tasks (issue 29) score every method's attributions against the evidence a model was
built to use (:mod:`xairepro.evaluation.localisation`): the groundtruth stage's tasks in four
modalities, the SMILES2vec pyridine task and the GGNN's Table 1 on Tox21. Each task is made from one
leaderboard experiment's data (:data:`TASK_EXPERIMENT`), so per (experiment, method) the mean over
the task's scored models of a localisation score stands beside the method's faithfulness cell.

The column's score is :data:`SCORE` (relevance mass): Table 1's PRC-AUC cannot tell methods apart when
the evidence is under 10% of an example's units (its extraction rule), a blind spot the groundtruth
notebook documents; PRC-AUC is kept beside it. The GGNN's Table 1 has PRC-AUC only (its per-model
table, ``subset_prcauc.csv``, has no mass), so Tox21's mass is empty. ESOL has no known answer.

Agreement: per experiment, Kendall's tau (:func:`scipy.stats.kendalltau`) between the methods'
faithfulness scores (the headline operator's cells) and their localisation scores, over the methods
present in both, the random order left out (its faithfulness score is 0 by construction), as in the
leaderboard's metric agreement. The module returns numbers and never draws.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import kendalltau

from ..names import FLOOR_METHOD as FLOOR

__all__ = ["AGREEMENT_COLUMNS", "COLUMN", "SCORE", "SCORES", "TASK_EXPERIMENT", "TOX21_TASK", "localisation_agreement",
           "localisation_column", "localisation_rows", "tox21_localisation_rows"]

#: The localisation column's declared score.
SCORE = "mass"
#: The scores the column reports (the declared one first).
SCORES = ("mass", "prc_auc")
#: The task name the GGNN's Table 1 rows get.
TOX21_TASK = "tox21_pyridine"
#: Known-answer task -> the leaderboard experiment whose data it is made from.
TASK_EXPERIMENT = {"tables": "iris", "images": "vision", "text": "text", "peptides": "peptides",
                   "pyridine": "smiles2vec", TOX21_TASK: "tox21"}
#: Columns of :func:`localisation_column`.
COLUMN = ["experiment", "task", "method", *SCORES, "n_models"]
#: Columns of :func:`localisation_agreement`.
AGREEMENT_COLUMNS = ["experiment", "operator", "score", "tau", "pvalue", "n_methods", "methods", "reason"]
_LOCALISATION = ("task", "model", "replicate", "method", *SCORES)


def tox21_localisation_rows(per_model: pd.DataFrame, *, model: str = "ggnn") -> pd.DataFrame:
    """The GGNN's Table 1 per-model PRC-AUC (``subset_prcauc.csv``: seed, method, prc_auc, main) as
    localisation rows of task :data:`TOX21_TASK`: the main rows (no noise sweep), ``replicate`` = seed,
    ``mass`` empty (Table 1 measures PRC-AUC only)."""
    missing = [c for c in ("seed", "method", "prc_auc", "main") if c not in per_model]
    if missing:
        raise ValueError(f"Tox21 Table 1 per-model table: missing columns {missing}")
    main = per_model[per_model["main"].astype(bool)]
    return pd.DataFrame({"task": TOX21_TASK, "model": model, "replicate": main["seed"].to_numpy(),
                         "method": main["method"].to_numpy(), "mass": np.nan,
                         "prc_auc": main["prc_auc"].to_numpy(float)})


def localisation_rows(tables: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The localisation tables (groundtruth, SMILES2vec pyridine, :func:`tox21_localisation_rows`)
    concatenated, with the leaderboard ``experiment`` of each task (:data:`TASK_EXPERIMENT`). Raises
    ``ValueError`` naming a task that maps to no experiment or a missing column."""
    frames = []
    for i, t in enumerate(tables):
        if t.empty:
            continue
        missing = [c for c in _LOCALISATION if c not in t]
        if missing:
            raise ValueError(f"localisation table {i}: missing columns {missing}")
        unknown = sorted(set(t["task"]) - set(TASK_EXPERIMENT))
        if unknown:
            raise ValueError(f"localisation table {i}: task(s) {unknown} map to no leaderboard experiment "
                             f"(TASK_EXPERIMENT knows {sorted(TASK_EXPERIMENT)})")
        frames.append(t[list(_LOCALISATION)].assign(experiment=t["task"].map(TASK_EXPERIMENT)))
    if not frames:
        return pd.DataFrame(columns=["experiment", *_LOCALISATION])
    return pd.concat(frames, ignore_index=True)


def localisation_column(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (experiment, task, method) of :func:`localisation_rows`: the mean over the scored models
    (every (model, replicate)) of each of :data:`SCORES` (``nan`` where a task has none) and
    ``n_models``. Columns :data:`COLUMN`."""
    if rows.empty:
        return pd.DataFrame(columns=COLUMN)
    keys = ["experiment", "task", "method"]
    out = rows.groupby(keys, sort=False)[list(SCORES)].mean()
    out["n_models"] = rows.drop_duplicates(keys + ["model", "replicate"]).groupby(keys, sort=False).size()
    return out.reset_index()[COLUMN]


def localisation_agreement(cells: pd.DataFrame, column: pd.DataFrame) -> pd.DataFrame:
    """Per leaderboard experiment (of ``cells``, the headline operator's: experiment, operator, method,
    score) and each of :data:`SCORES`: Kendall's tau between the methods' faithfulness scores and their
    localisation scores (``column``, :func:`localisation_column`) over the methods in both with a
    finite score, the random order left out. ``tau`` is empty, with the ``reason``, where the
    experiment has no known-answer task or its task no such score, fewer than two methods in both, or a
    constant ranking.
    Columns :data:`AGREEMENT_COLUMNS`."""
    rows = []
    for exp, c in cells.groupby("experiment", sort=False):
        operators = list(dict.fromkeys(c["operator"]))
        if len(operators) != 1 or c["method"].duplicated().any():
            raise ValueError(f"leaderboard cells of {exp!r}: expected one headline cell per method, "
                             f"got operators {operators}")
        faith = c[c["method"] != FLOOR].set_index("method")["score"].astype(float)
        loc = column[column["experiment"] == exp]
        for score in SCORES:
            row = {"experiment": exp, "operator": operators[0], "score": score, "tau": np.nan, "pvalue": np.nan,
                   "n_methods": 0, "methods": "", "reason": ""}
            if loc.empty:
                rows.append(dict(row, reason="no known-answer task"))
                continue
            known = loc.set_index("method")[score].astype(float).dropna()
            both = [m for m in faith.index if m in known.index and np.isfinite(faith[m])]
            row.update(n_methods=len(both), methods=" ".join(both))
            a, b = faith[both].to_numpy(), known[both].to_numpy()
            if known.empty:
                row["reason"] = f"the experiment's known-answer task has no {score}"
            elif len(both) < 2:
                row["reason"] = f"fewer than two methods with a faithfulness and a {score} score"
            elif np.ptp(a) == 0 or np.ptp(b) == 0:
                row["reason"] = "a constant ranking"
            else:
                res = kendalltau(a, b)
                row.update(tau=float(res.statistic), pvalue=float(res.pvalue))
            rows.append(row)
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
