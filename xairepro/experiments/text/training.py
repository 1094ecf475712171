"""Training the IMDB BiGRU classifier (explanatory-masks section 3.2) with the project's one loop.

The model spec comes from ``text.models.<name>``; the vocabulary size and padding id come from the
token cache. When the cache holds a GloVe matrix, the embedding starts from it. Training is
:func:`xairepro.training.fit` (multiclass cross-entropy over the 2-class softmax, Adam, mixed
precision on CUDA when ``train.amp``), with a checkpoint after every epoch: an interrupted job
resumes from it. The checkpoint's name carries a hash of everything that shapes the run, so a
changed configuration never resumes from a stale one; it is removed once training finishes.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...models import build_model
from ...training import TrainedModel, model_kwargs, predict, resume_path, seed_everything, train_config
from ...training.core import fit, resolve_device
from .data import PAD_ID, TextCache

log = logging.getLogger(__name__)

__all__ = ["classifier_kwargs", "train_text", "accuracy_metric", "evaluate"]


def classifier_kwargs(spec: Mapping, cache: TextCache) -> tuple[str, dict]:
    """``(arch, kwargs)`` of the classifier: the spec plus the cache's vocabulary size and padding."""
    arch, kwargs = model_kwargs(spec)
    if "vocab_size" in kwargs and int(kwargs["vocab_size"]) != len(cache.vocab):
        raise ValueError(f"text.models: vocab_size {kwargs['vocab_size']} differs from the cached "
                         f"vocabulary ({len(cache.vocab)} ids); leave it out of the model spec")
    kwargs.update(vocab_size=len(cache.vocab), padding_idx=PAD_ID)
    return arch, kwargs


def accuracy_metric(labels: np.ndarray, pred: np.ndarray) -> dict:
    return {"accuracy": float((pred.argmax(1) == labels.reshape(-1)).mean())}


def train_text(cache: TextCache, spec: Mapping, train: Mapping, *, ctx: RunContext,
                     resume_base: str | Path | None = None, monitor_test: bool = True,
                     progress: Callable[[dict], None] | None = None) -> tuple[TrainedModel, dict]:
    """Train the classifier on the cached training reviews; returns the trained model and metrics
    (test accuracy of the final epoch's model on the cached test reviews, timings).

    ``monitor_test`` records the test accuracy after every epoch in the history (monitoring
    only: the final epoch's model is always the one kept, nothing is selected on it).
    """
    arch, kwargs = classifier_kwargs(spec, cache)
    resume = None
    if resume_base is not None:
        resume = resume_path(Path(resume_base).parent, {"spec": kwargs, "arch": arch, "train": dict(train),
                                                   "seed": ctx.seed, "n_train": len(cache.train_ids),
                                                   "glove": cache.glove is not None},
                             stem=f"{Path(resume_base).stem}.resume")
    seed_everything(ctx.seed)
    model = build_model(arch, **kwargs)
    if cache.glove is not None:
        model.load_pretrained(cache.glove)
    cfg = train_config(train, task="multiclass", ctx=ctx, checkpoint=str(resume) if resume else None)
    t0 = time.perf_counter()
    history = fit(model, cache.train_dataset(), cache.test_dataset() if monitor_test else None, cfg,
                  metric=accuracy_metric if monitor_test else None, progress=progress)
    seconds = time.perf_counter() - t0
    trained = TrainedModel(model=model, arch=arch, kwargs=kwargs, history=pd.DataFrame(history), config=cfg)
    metrics = evaluate(model, cache, batch_size=4 * int(cfg.batch_size))
    epoch_s = [h["seconds"] for h in history]
    metrics.update({"epochs": int(cfg.epochs), "train_seconds": seconds, "device": str(resolve_device(cfg.device)),
                    "train_reviews_per_s": len(cache.train_ids) / float(np.mean(epoch_s)) if epoch_s else None,
                    "n_train": len(cache.train_ids), "glove": cache.glove is not None,
                    "hidden": kwargs.get("hidden"), "max_len": int(cache.max_len), "packed": kwargs.get("packed", False)})
    if resume is not None and resume.exists():
        resume.unlink()
    log.info("test accuracy %.4f on %d reviews", metrics["test_accuracy"], metrics["n_test"])
    return trained, metrics


@torch.no_grad()
def evaluate(model, cache: TextCache, batch_size: int = 256) -> dict:
    """Test accuracy of ``model`` (eval mode) on the cached test reviews."""
    device = next(model.parameters()).device
    t0 = time.perf_counter()
    pred = predict(model, cache.test_dataset(), batch_size, device)
    seconds = time.perf_counter() - t0
    labels = cache.test_labels.numpy()
    acc = float((pred.argmax(1) == labels).mean())
    return {"test_accuracy": acc, "n_test": int(len(labels)), "test_seconds": seconds,
            "test_positive_rate_predicted": float(pred.argmax(1).mean())}
