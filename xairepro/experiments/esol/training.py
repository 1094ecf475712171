"""ESOL training recipe: one model per fold, trained on every other fold (MSE on standardized
targets, Adam), with the seed of that fold (``ctx.child(fold)``)."""
from __future__ import annotations

from ...context import RunContext
from ...evaluation.regression import regression_metrics
from ...training import TrainedModel, train_model
from .data import split_fold


def _metric(y, p):
    return {k: v for k, v in regression_metrics(y, p).items() if k != "n"}


def train_esol(graphs, spec: dict, *, fold: int, n_folds: int, train: dict, ctx: RunContext,
               progress=None) -> TrainedModel:
    """Train the model of ``spec`` on all folds but ``fold`` (held-out metrics logged per epoch)."""
    tr, test = split_fold(graphs, fold, n_folds, ctx.seed)
    cfg = dict(train, log_every=max(1, int(train["epochs"]) // 10))
    return train_model(spec, tr, test, train=cfg, task="regression", ctx=ctx.child(fold), n_out=1,
                       metric=_metric, progress=progress)
