"""Tox21 training recipes (``train_tox21``): the full-data pyridine model, one Table 1 subset model,
the SR-MMP model.

Class-balanced BCE on the pre-sigmoid output (the BayesGrad reference recipe: Adam, batch 32). The
final model is the last epoch's: validation scores are reported, never used to pick a model.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ...context import RunContext
from ...evaluation.ground_truth import roc_auc
from ...training import TrainedModel, predict, train_model
from .data import pyridine_data, srmmp_data

RECIPES = ("pyridine_full", "pyridine_subset", "srmmp")


def _roc_metric(y, p):
    return {"roc_auc": roc_auc(y, p)}


def train_binary(spec: dict, train: list, val: list | None, train_cfg: dict, *, ctx: RunContext,
                 progress=None) -> TrainedModel:
    """One class-balanced binary model; ``train_cfg`` holds epochs, batch_size and lr."""
    epochs = int(train_cfg["epochs"])
    cfg = dict(train_cfg, class_balanced=True, log_every=max(1, epochs // 10))
    return train_model(spec, train, val, train=cfg, task="binary", ctx=ctx, n_out=1,
                       metric=_roc_metric if val else None, progress=progress)


def final_roc(model, parts: dict[str, list], device) -> dict:
    """ROC-AUC, size and positives of each named part (train, val, test) under the final model."""
    out = {}
    for name, data in parts.items():
        y = np.array([float(g.y[0, 0]) for g in data])
        out[f"{name}_roc_auc"] = roc_auc(y, predict(model, data, device=device)[:, 0])
        out[f"n_{name}"] = len(data)
        out[f"n_{name}_positive"] = int(y.sum())
    return out


def train_tox21(recipe: str, graphs: Sequence, splits: dict, *, spec: dict, train: dict, ctx: RunContext,
                 subset: int | None = None, subset_size: int = 1000, progress=None) -> tuple[TrainedModel, dict]:
    """Train one of the Tox21 models; returns (trained model, final metrics).

    ``pyridine_full``: the model on the whole pyridine training split (paper: ROC-AUC about 0.99).
    ``pyridine_subset``: the model on random subset ``subset`` of ``subset_size`` compounds (Table 1),
    with the seed of that piece of the run (``ctx.child(subset)``).
    ``srmmp``: the model on the SR-MMP label, train / val / test ROC-AUC; ``subset=k`` trains seed
    replicate k (``ctx.child(k)``) on the same split (Fig. 3 across seeds).
    """
    if recipe not in RECIPES:
        raise ValueError(f"unknown Tox21 recipe {recipe!r}; known: {RECIPES}")
    if recipe == "pyridine_subset" and subset is None:
        raise ValueError("recipe pyridine_subset needs subset=k")
    if recipe == "srmmp":
        parts = srmmp_data(graphs, splits)
        run_ctx = ctx.child(subset) if subset is not None else ctx  # subset: the seed replicate
    else:
        k = subset if recipe == "pyridine_subset" else None
        tr, val = pyridine_data(graphs, splits, k, subset_size, ctx.seed)
        parts = {"train": tr, "val": val}
        run_ctx = ctx.child(k) if k is not None else ctx
    trained = train_binary(spec, parts["train"], parts["val"], train, ctx=run_ctx, progress=progress)
    metrics = {"recipe": recipe, "model": trained.arch, "subset": subset,
               "epochs": int(train["epochs"]), "seed": run_ctx.seed,
               **final_roc(trained.model, parts, run_ctx.torch_device)}
    return trained, metrics
