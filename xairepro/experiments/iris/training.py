"""The iris MLP recipe: every flower is training data (the blog's "all dataset is to train"); for the
data-randomisation test, the same recipe on labels permuted by a seeded shuffle."""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import numpy as np

from ...context import RunContext
from ...training import TrainedModel, predict, train_model
from .data import IrisData

__all__ = ["PERMUTATION_STREAM", "permuted_labels", "train_iris"]

#: The permutation of the data-randomisation test draws with ``ctx.child(PERMUTATION_STREAM)``'s seed.
PERMUTATION_STREAM = 1


def _accuracy(y_true: np.ndarray, pred: np.ndarray) -> dict:
    return {"accuracy": float((pred.argmax(1) == y_true.reshape(-1)).mean())}


def permuted_labels(data: IrisData, *, ctx: RunContext) -> IrisData:
    """``data`` with its labels shuffled (``numpy.random.default_rng(ctx.child(PERMUTATION_STREAM).seed)``):
    the same flowers, labels that carry no information about them."""
    rng = np.random.default_rng(ctx.child(PERMUTATION_STREAM).seed)
    return replace(data, y=rng.permutation(data.y))


def train_iris(data: IrisData, spec: Mapping, train: Mapping, *, ctx: RunContext,
               labels: str = "true") -> tuple[TrainedModel, dict]:
    """Train the model of ``spec`` on all flowers (``labels="permuted"``: on :func:`permuted_labels`,
    with the same seed); returns it and its training accuracy (against the labels it was trained on,
    and against the true labels)."""
    if labels not in ("true", "permuted"):
        raise ValueError(f"iris: labels must be 'true' or 'permuted', got {labels!r}")
    fit_on = permuted_labels(data, ctx=ctx) if labels == "permuted" else data
    ds = fit_on.dataset()
    spec = dict(spec, n_in=data.x.shape[1])
    trained = train_model(spec, ds, ds, train=train, task="multiclass", ctx=ctx, n_out=len(data.classes),
                          metric=_accuracy)
    pred = predict(trained.model, ds, device=ctx.torch_device)
    metrics = {"train_accuracy": _accuracy(fit_on.y, pred)["accuracy"], "n": int(len(data.y)),
               "epochs": int(trained.config.epochs), "labels": labels,
               "true_label_accuracy": _accuracy(data.y, pred)["accuracy"]}
    return trained, metrics
