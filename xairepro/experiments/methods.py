"""The tables every experiment's faithfulness study writes in one schema (the leaderboard's input):
per-example rows and the methods that did not apply, with the reason. A helper module of the
experiments, not an experiment.
"""
from __future__ import annotations

from typing import Mapping

from .explainer import NotApplicable

__all__ = ["FAITHFULNESS_COLUMNS", "SKIPPED_COLUMNS", "faithfulness_rows", "not_applicable_rows", "skipped_rows"]


def not_applicable_rows(results: Mapping) -> list[dict]:
    """``{method, reason}`` rows for the methods that did not apply."""
    return [{"method": v.method, "reason": v.reason} for v in results.values() if isinstance(v, NotApplicable)]


#: Columns of every experiment's per-example faithfulness table (the leaderboard's input).
FAITHFULNESS_COLUMNS = ("experiment", "modality", "unit", "model", "replicate", "operator", "method", "example",
                        "deletion_aopc", "insertion_auc", "lerf_aopc", "srg", "upper_aopc")
#: Columns of the table of methods that did not apply, with the reason.
SKIPPED_COLUMNS = ("experiment", "modality", "unit", "model", "replicate", "method", "reason")


def faithfulness_rows(per_example, *, experiment: str, modality: str, unit: str, model: str, replicate=0):
    """The per-example rows of :func:`~xairepro.evaluation.faithfulness.faithfulness_study` in the
    shared schema (:data:`FAITHFULNESS_COLUMNS`); ``replicate`` is the seed, fold or model index."""
    import pandas as pd

    frame = pd.DataFrame(per_example).copy()
    for key, value in (("experiment", experiment), ("modality", modality), ("unit", unit), ("model", model),
                       ("replicate", replicate)):
        frame[key] = value
    return frame[list(FAITHFULNESS_COLUMNS)]


def skipped_rows(results: Mapping, *, experiment: str, modality: str, unit: str, model: str, replicate=0):
    """The methods of ``results`` that did not apply, in the schema :data:`SKIPPED_COLUMNS`."""
    import pandas as pd

    rows = [dict(experiment=experiment, modality=modality, unit=unit, model=model, replicate=replicate,
                 method=r["method"], reason=r["reason"]) for r in not_applicable_rows(results)]
    return pd.DataFrame(rows, columns=list(SKIPPED_COLUMNS))
