"""Training the CIFAR-10 classifiers (the plain network and its dropout variant for BayesGrad)
with the project's one loop: device-resident batches, augmentation as ``batch_transform``, SGD
with Nesterov momentum and a per-step schedule, mixed precision on CUDA, a checkpoint each epoch.

The dropout variant may start from the trained classifier's weights (``init``; config
``vision.finetune``) and be trained on with dropout for a few epochs: the same network with its
pooled features dropped at random, not a second network trained from scratch, so its cells in the
leaderboard differ from the classifier's by the dropout only.

The checkpoint's name carries a fingerprint of everything that defines the run (model spec, train
section, seed, data), so an interrupted job resumes from its own last epoch and a job whose
configuration changed starts afresh; it is removed once the model is written.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...models import build_model
from ...training import TrainedModel, fit, model_kwargs, resume_path, seed_everything, train_config, train_model
from .data import TensorBatches, augment, to_float

__all__ = ["accuracy", "checkpoint_path", "predict_logits", "state_digest", "train_and_save",
           "train_vision"]


def checkpoint_path(directory, spec: Mapping, train: Mapping, ctx: RunContext, data: Mapping,
                    init: str | None = None) -> Path:
    """The per-epoch checkpoint of one run; ``init``: the digest of the starting weights (fine-tuning)."""
    fingerprint = {"spec": dict(spec), "train": dict(train), "seed": ctx.seed, "n_train": int(len(data["y_train"])),
                   "source": data["source"]}
    if init is not None:
        fingerprint["init"] = init
    return resume_path(directory, fingerprint, stem="checkpoint")


def state_digest(state: Mapping[str, torch.Tensor]) -> str:
    """A short digest of a state dict's tensors (names and bytes)."""
    h = hashlib.sha256()
    for k in sorted(state):
        h.update(k.encode())
        h.update(state[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


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


def _train_from(state, spec, loader, val, train, *, ctx, n_out, metric, progress, batch_transform) -> TrainedModel:
    """:func:`~xairepro.training.train_model` starting from the weights ``state`` (fine-tuning)."""
    arch, kwargs = model_kwargs(spec, n_out)
    seed_everything(ctx.seed)
    model = build_model(arch, **kwargs)
    try:
        model.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"the starting weights do not fit the model {dict(spec)}: "
                         f"{str(err).splitlines()[0]}") from None
    cfg = train_config(train, task="multiclass", ctx=ctx)
    history = fit(model, loader, val, cfg, metric=metric, progress=progress, batch_transform=batch_transform)
    return TrainedModel(model=model, arch=arch, kwargs=kwargs, history=pd.DataFrame(history), config=cfg)


def train_vision(data: Mapping, spec: Mapping, train: Mapping, *, ctx: RunContext, checkpoint_dir,
                 augmentation: bool = True, eval_every: int = 1, progress=None, init=None,
                 channels_last: bool | None = None) -> dict:
    """Train the model of ``spec`` on the cached training split and score it on the test split;
    ``init`` (a state dict of the same architecture, the trained classifier's): start from those
    weights instead of a fresh initialisation (fine-tuning); ``channels_last``: NHWC training batches
    (default: on CUDA only; on the CPU about 25% faster with oneDNN, measured, but not bitwise the
    same training as the contiguous layout).

    Returns ``{"trained": TrainedModel, "history": DataFrame, "metrics": dict}``; the history has
    the test accuracy after every ``eval_every`` epochs (``val_accuracy``) and the seconds and
    images per second of each epoch.
    """
    device = ctx.torch_device
    if ctx.threads:
        torch.set_num_threads(int(ctx.threads))
    cuda = device.type == "cuda"
    nhwc = cuda if channels_last is None else bool(channels_last) or cuda
    loader = TensorBatches(data["x_train"], data["y_train"], int(train.get("batch_size", 128)), device,
                           shuffle=True, drop_last=len(data["y_train"]) > int(train.get("batch_size", 128)),
                           channels_last=nhwc)
    val = torch.utils.data.TensorDataset(to_float(data["x_test"]), data["y_test"])
    ckpt = checkpoint_path(checkpoint_dir, spec, train, ctx, data, init=None if init is None else state_digest(init))
    t0 = time.perf_counter()
    run_train = dict(train, checkpoint=str(ckpt), log_every=eval_every)
    transform = augment if augmentation else None
    if init is None:
        trained = train_model(spec, loader, val, train=run_train, task="multiclass", ctx=ctx,
                              n_out=len(data["classes"]), metric=_accuracy_metric, progress=progress,
                              batch_transform=transform)
    else:
        trained = _train_from(init, spec, loader, val, run_train, ctx=ctx, n_out=len(data["classes"]),
                              metric=_accuracy_metric, progress=progress, batch_transform=transform)
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
               "device": str(device), "amp": bool(trained.config.amp and cuda), "channels_last": nhwc,
               "source": data["source"], "torch_threads": torch.get_num_threads(),
               "finetuned_from_digest": None if init is None else state_digest(init)}
    if cuda:
        metrics["max_memory_gb"] = torch.cuda.max_memory_allocated() / 2**30
    hit = history.loc[history.get("val_accuracy", pd.Series(dtype=float)) >= 0.94, "epoch"] \
        if "val_accuracy" in history else pd.Series(dtype=float)
    metrics["epoch_reaching_94"] = int(hit.iloc[0]) if len(hit) else None
    metrics["seconds_to_94"] = float(history.loc[history["epoch"] <= hit.iloc[0], "seconds"].sum()) \
        if len(hit) else None
    return {"trained": trained, "history": history, "metrics": metrics, "checkpoint": ckpt}


def train_and_save(cache_path, spec: Mapping, train: Mapping, model_path, *, ctx: RunContext,
                   augmentation: bool = True, progress=None, init_path=None,
                   channels_last: bool | None = None) -> tuple[pd.DataFrame, dict]:
    """:func:`train_vision` on the cached data, the model written to ``model_path`` (rebuilds
    by name with :func:`xairepro.training.load_checkpoint`), the per-epoch checkpoint removed;
    ``init_path``: a saved model whose weights the training starts from (fine-tuning).
    Returns ``(history, metrics)``."""
    from ...training import load_checkpoint, save_trained
    from .data import load_cached

    data = load_cached(cache_path)
    init = None if not init_path else load_checkpoint(init_path, "cpu")[0].state_dict()
    out = train_vision(data, spec, train, ctx=ctx, checkpoint_dir=Path(model_path).parent,
                       augmentation=augmentation, progress=progress, init=init, channels_last=channels_last)
    if init_path:
        out["metrics"]["finetuned_from"] = str(init_path)
    save_trained(model_path, out["trained"], extra={"test_accuracy": out["metrics"]["test_accuracy"],
                                                    "source": data["source"]})
    out["checkpoint"].unlink(missing_ok=True)
    return out["history"], out["metrics"]
