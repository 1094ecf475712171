"""The SMILES2vec explanation study: every configured method's character scores on the explained
molecules, the top-3 table and the atom maps, from a trained model and mask network."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ..methods import not_applicable_rows
from .explain import character_scores, map_records, selected_molecules, top3_summary, top3_table
from .settings import explainer

__all__ = ["explain_study"]


def explain_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """``inputs``: ``model``, ``mask_net`` (or ``None``), ``data`` (:class:`~.data.SmilesData`).
    ``cfg``: ``split`` (the mask's split), ``attribution`` (methods, sample counts, reading) and
    ``top3`` (thresholds, n_maps).

    Returns ``table`` (top-3 rows), ``summary`` (per method), ``maps`` (atom-map records),
    ``arrays`` (per-character scores of each method, the molecules, the integrated-gradients
    completeness error where a method has a path) and ``skipped`` (methods that did not apply).
    """
    data, attribution, thresholds = inputs["data"], cfg["attribution"], cfg["top3"]
    idx = selected_molecules(data, cfg["split"], thresholds)
    model = inputs["model"].to(ctx.torch_device).eval()
    explain = explainer(model, attribution, ctx=ctx, mask_net=inputs["mask_net"])
    results = explain.explain(torch.as_tensor(data.tokens[idx]))
    scores = character_scores(results, data, idx, explain.readings())
    ranking = attribution.get("ranking", "abs")
    table = top3_table(data, idx, scores, thresholds, ranking)
    summary = top3_summary(table)
    maps = map_records(data, idx, scores, thresholds, int(thresholds["n_maps"]), cfg["split"])
    arrays = {m: s.astype(np.float32) for m, s in scores.items()}
    arrays["molecules"] = idx
    for name, explanation in results.items():
        if getattr(explanation, "path", None) is not None:
            arrays[f"{name}_rel_error"] = explanation.path.rel_error.numpy().astype(np.float32)
    skipped = pd.DataFrame(not_applicable_rows(results), columns=["method", "reason"])
    return {"table": table, "summary": summary, "maps": maps, "arrays": arrays, "skipped": skipped}
