"""Training the CIFAR-10 classifiers (the plain network and its dropout variant for BayesGrad)
with the project's one loop: device-resident batches, augmentation as ``batch_transform``, SGD
with Nesterov momentum and a per-step schedule, mixed precision on CUDA, a checkpoint each epoch.

The checkpoint's name carries a fingerprint of everything that defines the run (model spec, train
section, seed, data), so an interrupted job resumes from its own last epoch and a job whose
configuration changed starts afresh; it is removed once the model is written.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...training import resume_path, train_model
from .data import TensorBatches, augment, to_float

__all__ = ["accuracy", "checkpoint_path", "predict_logits", "train_and_save", "train_vision"]


def checkpoint_path(directory, spec: Mapping, train: Mapping, ctx: RunContext, data: Mapping) -> Path:
    return resume_path(directory, {"spec": dict(spec), "train": dict(train), "seed": ctx.seed,
                                   "n_train": int(len(data["y_train"])), "source": data["source"]},
                       stem="checkpoint")


@torch.no_grad()
def predict_logits(model, x_uint8_or_float: torch.Tensor, batch_size: int = 500, device=None) -> torch.Tensor:
    """Eval-mode logits (float32, on the CPU) for uint8 or float images, in batches."""
    device = device or next(model.parameters()).device
    was = model.training
    model.eval()
    outs = []
    for i in range(0, len(x_uint8_or_float), batch_size):
        xb = x_uint8_or_float[i:i + batch_size].to(device)
        xb = to_float(xb) if xb.dtype == torch.uint8 else xb.float()
        with torch.autocast(device.type, enabled=device.type == "cuda"):
            outs.append(model(xb).float().cpu())
    model.train(was)
    return torch.cat(outs)


def accuracy(model, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    return float((predict_logits(model, x, batch_size).argmax(1) == y.cpu()).float().mean())


def _accuracy_metric(y_true: np.ndarray, pred: np.ndarray) -> dict:
    return {"accuracy": float((pred.argmax(1) == y_true.reshape(-1)).mean())}


def train_vision(data: Mapping, spec: Mapping, train: Mapping, *, ctx: RunContext, checkpoint_dir,
                 augmentation: bool = True, eval_every: int = 1, progress=None) -> dict:
    """Train the model of ``spec`` on the cached training split and score it on the test split.

    Returns ``{"trained": TrainedModel, "history": DataFrame, "metrics": dict}``; the history has
    the test accuracy after every ``eval_every`` epochs (``val_accuracy``) and the seconds and
    images per second of each epoch.
    """
    device = ctx.torch_device
    if ctx.threads:
        torch.set_num_threads(int(ctx.threads))
    cuda = device.type == "cuda"
    loader = TensorBatches(data["x_train"], data["y_train"], int(train.get("batch_size", 128)), device,
                           shuffle=True, drop_last=len(data["y_train"]) > int(train.get("batch_size", 128)),
                           channels_last=cuda)
    val = torch.utils.data.TensorDataset(to_float(data["x_test"]), data["y_test"])
    ckpt = checkpoint_path(checkpoint_dir, spec, train, ctx, data)
    t0 = time.perf_counter()
    trained = train_model(spec, loader, val, train=dict(train, checkpoint=str(ckpt), log_every=eval_every),
                          task="multiclass", ctx=ctx, n_out=len(data["classes"]), metric=_accuracy_metric,
                          progress=progress, batch_transform=augment if augmentation else None)
    wall = time.perf_counter() - t0
    model = trained.model.eval()
    logits = predict_logits(model, data["x_test"])
    pred = logits.argmax(1)
    y = data["y_test"]
    per_class = [float((pred[y == k] == k).float().mean()) for k in range(len(data["classes"]))]
    history = trained.history.copy()
    history["images_per_s"] = len(loader) * loader.batch_size / history["seconds"]
    metrics = {"arch": trained.arch, "kwargs": trained.kwargs,
               "n_parameters": int(sum(p.numel() for p in model.parameters())),
               "test_accuracy": float((pred == y).float().mean()), "per_class_accuracy": per_class,
               "n_train": int(len(data["y_train"])), "n_test": int(len(y)), "epochs": int(trained.config.epochs),
               "train_seconds": float(history["seconds"].sum()), "job_seconds": wall,
               "images_per_s": float(np.median(history["images_per_s"])),
               "device": str(device), "amp": bool(trained.config.amp and cuda), "channels_last": cuda,
               "source": data["source"], "torch_threads": torch.get_num_threads()}
    if cuda:
        metrics["max_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    hit = history.loc[history.get("val_accuracy", pd.Series(dtype=float)) >= 0.94, "epoch"] \
        if "val_accuracy" in history else pd.Series(dtype=float)
    metrics["epoch_reaching_94"] = int(hit.iloc[0]) if len(hit) else None
    metrics["seconds_to_94"] = float(history.loc[history["epoch"] <= hit.iloc[0], "seconds"].sum()) \
        if len(hit) else None
    return {"trained": trained, "history": history, "metrics": metrics, "checkpoint": ckpt}


def train_and_save(cache_path, spec: Mapping, train: Mapping, model_path, *, ctx: RunContext,
                   augmentation: bool = True, progress=None) -> tuple[pd.DataFrame, dict]:
    """:func:`train_vision` on the cached data, the model written to ``model_path`` (rebuilds
    by name with :func:`xairepro.training.load_checkpoint`), the per-epoch checkpoint removed.
    Returns ``(history, metrics)``."""
    from ...training import save_trained
    from .data import load_cached

    data = load_cached(cache_path)
    out = train_vision(data, spec, train, ctx=ctx, checkpoint_dir=Path(model_path).parent,
                       augmentation=augmentation, progress=progress)
    save_trained(model_path, out["trained"], extra={"test_accuracy": out["metrics"]["test_accuracy"],
                                                    "source": data["source"]})
    out["checkpoint"].unlink(missing_ok=True)
    return out["history"], out["metrics"]
