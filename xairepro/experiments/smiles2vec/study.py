"""The SMILES2vec explanation study: scores of every method on the explained molecules, the top-3
table, the atom maps and the faithfulness curves, from a trained model and mask network."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...context import RunContext
from .data import SmilesData
from .explain import METHODS, character_scores, map_records, selected_molecules, top3_summary, top3_table
from .faithfulness import faithfulness
from .mask import mask_weights

__all__ = ["explain_study", "faithfulness_study_from_scores"]


def explain_study(model, net, data: SmilesData, cfg: Mapping, *, ctx: RunContext) -> dict:
    """``cfg`` holds the ``mask.split``, ``attribution`` and ``top3`` sections."""
    split, thresholds = cfg["split"], cfg["top3"]
    idx = selected_molecules(data, split, thresholds)
    weights = mask_weights(net, data.tokens[idx], ctx.torch_device)
    scores = character_scores(model, weights, data.tokens[idx], cfg["attribution"], ctx=ctx)
    table = top3_table(data, idx, scores, thresholds)
    summary = top3_summary(table)
    maps = map_records(data, idx, scores, thresholds, int(thresholds["n_maps"]), split)
    arrays = {m: scores[m].astype(np.float32) for m in METHODS}
    arrays.update(molecules=idx, ig_rel_error=scores["ig_rel_error"].astype(np.float32))
    return {"table": table, "summary": summary, "maps": maps, "arrays": arrays}


def faithfulness_study_from_scores(model, data: SmilesData, arrays: Mapping, split: str, spec: Mapping, *,
                                   ctx: RunContext):
    """Faithfulness on the test molecules of ``split`` from the saved per-character scores."""
    idx = list(np.asarray(arrays["molecules"]))
    test = [i for i in data.splits[split]["test"] if i in set(idx)]
    rows = [idx.index(i) for i in test]
    scores = {m: np.asarray(arrays[m])[rows] for m in METHODS}
    return faithfulness(model, data, np.asarray(test), scores, spec, seed=ctx.seed, max_batch=ctx.max_batch,
                        device=ctx.torch_device)
