"""The iris MLP recipe: every flower is training data (the blog's "all dataset is to train")."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...context import RunContext
from ...training import TrainedModel, predict, train_model
from .data import IrisData

__all__ = ["train_iris"]


def _accuracy(y_true: np.ndarray, pred: np.ndarray) -> dict:
    return {"accuracy": float((pred.argmax(1) == y_true.reshape(-1)).mean())}


def train_iris(data: IrisData, spec: Mapping, train: Mapping, *, ctx: RunContext) -> tuple[TrainedModel, dict]:
    """Train the model of ``spec`` on all flowers; returns it and its training accuracy."""
    ds = data.dataset()
    spec = dict(spec, n_in=data.x.shape[1])
    trained = train_model(spec, ds, ds, train=train, task="multiclass", ctx=ctx, n_out=len(data.classes),
                          metric=_accuracy)
    pred = predict(trained.model, ds, device=ctx.torch_device)
    metrics = {"train_accuracy": _accuracy(data.y, pred)["accuracy"], "n": int(len(data.y)),
               "epochs": int(trained.config.epochs)}
    return trained, metrics
