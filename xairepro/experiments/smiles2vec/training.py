"""The SMILES2vec recipe: one model per split (random, scaffold), RMSE on each part of the split."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...context import RunContext
from ...evaluation.regression import regression_metrics
from ...training import TrainedModel, predict, train_model
from .data import SmilesData

__all__ = ["rmse", "train_smiles2vec"]


def rmse(y_true: np.ndarray, pred: np.ndarray) -> dict:
    """``{"rmse": ...}`` in log S units (the metric of ``fit``'s per-epoch validation log)."""
    return {"rmse": regression_metrics(y_true, pred)["rmse"]}


def train_smiles2vec(data: SmilesData, split: str, spec: Mapping, train: Mapping, *,
                     ctx: RunContext) -> tuple[TrainedModel, dict]:
    """Train on ``data.splits[split]['train']`` (validation RMSE logged per epoch); the metrics hold
    the RMSE of train, val and test in log S units."""
    if split not in data.splits:
        raise KeyError(f"smiles2vec: unknown split {split!r}; have {sorted(data.splits)}")
    parts = data.splits[split]
    spec = dict(spec, vocab_size=len(data.vocab), pad_id=data.pad_id)
    trained = train_model(spec, data.dataset(parts["train"]), data.dataset(parts["val"]), train=train,
                          task="regression", ctx=ctx, n_out=1, metric=rmse)
    metrics = {"split": split}
    for name in ("train", "val", "test"):
        pred = predict(trained.model, data.dataset(parts[name]), device=ctx.torch_device)
        metrics[f"{name}_rmse"] = rmse(data.y[parts[name]], pred)["rmse"]
        metrics[f"n_{name}"] = len(parts[name])
    return trained, metrics
