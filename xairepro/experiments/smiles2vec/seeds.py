"""The explanation mask over mask seeds and fitting targets (issue 20.3).

One job per (fitting target, mask seed): train the mask network on the frozen random-split model
(:func:`~.mask.train_smiles2vec_mask`, fitted to the model's ``prediction`` or to the ``labels``;
mask seed ``s`` trains with the run seed plus ``s``), then measure the test RMSE unmasked and
masked, and the top-3 accuracy of the mask's character weights beside that of a random order (the
``random`` method, drawn with the same seed) on the same molecules as the explanation study (every
soluble or insoluble molecule and the test molecules, :func:`~.explain.selected_molecules`), both
read the way the explanation study reads them. :func:`seeds_table` gathers the jobs' metrics into
one row per (target, seed) (:data:`SEED_COLUMNS`), which the reproduction rows read.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd
import torch

from ...context import RunContext
from ...names import FLOOR_METHOD
from .data import SmilesData
from .explain import character_scores, selected_molecules, top3_summary, top3_table
from .mask import SmilesMaskNet, mask_seed_context, masked_predictions, train_smiles2vec_mask
from .settings import explainer

__all__ = ["MASK_METHOD", "SEED_COLUMNS", "mask_seed_study", "mask_top3", "seeds_table"]

#: The registered methods the per-seed top-3 compares: the trained mask, and a random order.
MASK_METHOD = "explanation_mask"
SEED_COLUMNS = ["target", "seed", "run_seed", "n_test", "test_rmse", "test_masked_rmse", "test_fidelity_rmse",
                "train_masked_rmse", "n_top3", "top3_accuracy", "random_top3_accuracy", "top3_fraction",
                "random_top3_fraction"]


def mask_top3(net: SmilesMaskNet, data: SmilesData, split: str, attribution: Mapping, thresholds: Mapping, *,
              ctx: RunContext) -> pd.DataFrame:
    """The top-3 summary (:func:`~.explain.top3_summary`) of the mask's weights and of a random
    order on the explanation study's molecules, read with ``attribution``'s ranking."""
    idx = selected_molecules(data, split, thresholds)
    names = [MASK_METHOD, FLOOR_METHOD]
    explain = explainer(net.model.to(ctx.torch_device).eval(), attribution, ctx=ctx, mask_net=net, methods=names)
    results = explain.explain(torch.as_tensor(data.tokens[idx]))
    scores = character_scores(results, data, idx, explain.readings())
    missing = [n for n in names if n not in scores]
    if missing:
        raise ValueError(f"smiles2vec mask seeds: {missing} did not apply: {results}")
    table = top3_table(data, idx, scores, thresholds, attribution.get("ranking", "abs"))
    return top3_summary(table).set_index("method")


def mask_seed_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """``inputs``: ``model`` (the frozen random-split model), ``data``. ``cfg``: ``mask`` (the network
    and its training, with ``split``), ``target`` (``prediction`` or ``labels``), ``seed`` (the mask
    seed), ``attribution`` (the reading and the Explainer: ranking, mc_samples, method_options) and ``top3``
    (thresholds). Returns ``net``, ``history`` and ``metrics`` (the RMSEs of every part of the split
    and the :data:`SEED_COLUMNS` measures)."""
    data, spec, split = inputs["data"], cfg["mask"], cfg["mask"]["split"]
    target, seed = str(cfg["target"]), int(cfg["seed"])
    run = mask_seed_context(ctx, seed)
    net, history = train_smiles2vec_mask(inputs["model"], data, split, spec, ctx=run, target=target)
    metrics = {"target": target, "seed": seed, "run_seed": int(run.seed), "n_test": len(data.splits[split]["test"]),
               **masked_predictions(net, data, split, run.torch_device)}
    t3 = mask_top3(net, data, split, cfg["attribution"], cfg["top3"], ctx=run)
    metrics.update({"n_top3": int(t3.loc[MASK_METHOD, "n"]),
                    "top3_accuracy": float(t3.loc[MASK_METHOD, "top3_accuracy"]),
                    "random_top3_accuracy": float(t3.loc[FLOOR_METHOD, "top3_accuracy"]),
                    "top3_fraction": float(t3.loc[MASK_METHOD, "top3_fraction"]),
                    "random_top3_fraction": float(t3.loc[FLOOR_METHOD, "top3_fraction"])})
    return {"net": net, "history": history, "metrics": metrics}


def seeds_table(metrics: Sequence[Mapping]) -> pd.DataFrame:
    """One row per (target, seed) job, ordered by target then seed (:data:`SEED_COLUMNS`)."""
    rows = [{k: m[k] for k in SEED_COLUMNS} for m in metrics]
    frame = pd.DataFrame(rows, columns=SEED_COLUMNS)
    if frame.duplicated(["target", "seed"]).any():
        raise ValueError("smiles2vec mask seeds: a (target, seed) appears twice")
    return frame.sort_values(["target", "seed"], kind="stable", ignore_index=True)
