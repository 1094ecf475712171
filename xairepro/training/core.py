"""The training loop shared by graph, image, sequence and tabular models.

Batches are either PyG graph batches (``model(batch)``, labels in ``batch.y`` with an optional
``batch.y_mask``) or ``(x, y)`` tuples from a torch Dataset (``model(x)``). Tasks:
``regression`` (MSE on standardized targets; the model's ``output`` layer, if it has one, is set
to map back to target units), ``binary`` (BCE on logits; NaN/masked labels ignored) and
``multiclass`` (cross-entropy).
"""
from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..context import resolve_device  # noqa: F401  (re-exported: training.resolve_device)
from ..progress import progress as progress_bar
from ..safe_io import atomic_torch_save, atomic_write, safe_torch_load

log = logging.getLogger(__name__)

TASKS = ("regression", "binary", "multiclass")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainConfig:
    """How to train; every field has the default the graph experiments use (Adam, constant lr).

    ``optimizer``: ``adam`` or ``sgd`` (with ``momentum`` and ``nesterov``). ``schedule``: ``none``,
    ``cosine`` (per step, to 0) or ``onecycle`` (per step, peak ``lr``). ``label_smoothing``:
    multiclass only. ``clip_grad_norm``: clip the global gradient norm (recurrent models).
    ``checkpoint``: a path written after every epoch (model, optimizer, schedule, scaler, RNG
    states, history); when it exists at the start, training resumes after its last epoch, so an
    interrupted job continues instead of restarting and ends with the same weights.
    """

    task: str = "regression"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    device: str = "auto"
    class_balanced: bool = False  # binary: sample positives and negatives equally often
    amp: bool = False  # mixed precision on CUDA
    log_every: int = 1
    optimizer: str = "adam"
    momentum: float = 0.9
    nesterov: bool = False
    schedule: str = "none"
    label_smoothing: float = 0.0
    clip_grad_norm: float | None = None
    checkpoint: str | None = None

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.schedule not in ("none", "cosine", "onecycle"):
            raise ValueError(f"schedule must be 'none', 'cosine' or 'onecycle', got {self.schedule!r}")


def _is_graph_data(data: Sequence) -> bool:
    from torch_geometric.data import Data

    return len(data) > 0 and isinstance(data[0], Data)


def _make_loader(data, batch_size: int, shuffle: bool, seed: int, sampler=None):
    g = torch.Generator().manual_seed(seed)
    if _is_graph_data(data):
        from torch_geometric.loader import DataLoader as GraphLoader

        return GraphLoader(data, batch_size=batch_size, shuffle=shuffle and sampler is None,
                           generator=g, sampler=sampler)
    return torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=shuffle and sampler is None,
                                       generator=g, sampler=sampler)


def _labels(data) -> np.ndarray:
    if _is_graph_data(data):
        return np.concatenate([d.y.numpy().reshape(1, -1) for d in data])
    return np.stack([np.asarray(d[1]).reshape(-1) for d in data])


def _masks(data) -> np.ndarray:
    if _is_graph_data(data) and hasattr(data[0], "y_mask"):
        return np.concatenate([d.y_mask.numpy().reshape(1, -1) for d in data])
    return np.ones_like(_labels(data), dtype=bool)


def _split_batch(batch, device):
    """-> (model input, labels, mask or None), all on ``device``."""
    if isinstance(batch, (list, tuple)):
        x, y = batch[0].to(device), batch[1].to(device)
        return x, y, None
    batch = batch.to(device)
    return batch, batch.y, getattr(batch, "y_mask", None)


def _loss(task: str, out: torch.Tensor, y: torch.Tensor, mask, scale=None, shift=None, label_smoothing=0.0):
    if task == "multiclass":
        return nn.functional.cross_entropy(out, y.long().view(-1), label_smoothing=label_smoothing)
    y = y.view(out.shape).to(out.dtype)
    if task == "regression":
        out, y = (out - shift) / scale, (y - shift) / scale
        per = (out - y) ** 2
    else:
        per = nn.functional.binary_cross_entropy_with_logits(out, y, reduction="none")
    if mask is not None:
        mask = mask.view(out.shape).to(out.dtype)
        return (per * mask).sum() / mask.sum().clamp(min=1)
    return per.mean()


def _balanced_sampler(labels: np.ndarray, masks: np.ndarray, seed: int):
    """Class-balanced sampling for a single binary task (the BayesGrad reference code's sampler)."""
    y = labels[:, 0]
    pos = (y > 0.5) & masks[:, 0]
    w = np.where(pos, 0.5 / max(pos.sum(), 1), 0.5 / max((~pos).sum(), 1))
    return torch.utils.data.WeightedRandomSampler(torch.as_tensor(w, dtype=torch.double), len(y),
                                                  replacement=True,
                                                  generator=torch.Generator().manual_seed(seed))


#: ``loss_fn(model, inputs, labels, label_mask) -> loss`` replaces the task loss (mask networks).
LossFn = Callable[[nn.Module, Any, torch.Tensor, Any], torch.Tensor]


def _optimizer(params, cfg: TrainConfig):
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov,
                               weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _scheduler(opt, cfg: TrainConfig, steps_per_epoch: int):
    total = max(1, cfg.epochs * steps_per_epoch)
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    if cfg.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total)
    return None


def _loader_generators(loader) -> list:
    """The generators that decide a loader's order (its shuffle and its sampler's draws)."""
    gens = [getattr(loader, "generator", None), getattr(getattr(loader, "sampler", None), "generator", None)]
    return [g for g in gens if isinstance(g, torch.Generator)]


def _rng_state(loader=None) -> dict:
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, gauss],
             "torch": torch.get_rng_state(),
             "loader": [g.get_state() for g in _loader_generators(loader)]}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, loader=None) -> None:
    for g, g_state in zip(_loader_generators(loader), state.get("loader", [])):
        g.set_state(g_state)
    version, internal, gauss_next = state["python"]
    random.setstate((version, tuple(internal), gauss_next))
    name, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _standardize_output(model, train_data, device):
    """Regression: (shift, scale) of the training targets; the model's ``output`` layer, when it
    has ``shift``/``scale`` buffers, is set to map standardized predictions back to target units."""
    labels, masks = _labels(train_data), _masks(train_data)
    lab = np.where(masks, labels, np.nan)
    mean, std = np.nanmean(lab, axis=0), np.nanstd(lab, axis=0)
    std = np.where(std > 0, std, 1.0)
    shift = torch.as_tensor(mean, dtype=torch.float32, device=device)
    scale = torch.as_tensor(std, dtype=torch.float32, device=device)
    out_layer = getattr(model, "output", None)
    if out_layer is not None and hasattr(out_layer, "shift"):
        out_layer.shift.copy_(shift)
        out_layer.scale.copy_(scale)
    return shift, scale


def fit(model: nn.Module, train_data, val_data: Sequence | None = None,
        cfg: TrainConfig = TrainConfig(), metric: Callable[[np.ndarray, np.ndarray], dict] | None = None,
        progress: Callable[[dict], None] | None = None, *, loss_fn: LossFn | None = None,
        batch_transform: Callable[[Any], Any] | None = None, history_csv=None) -> list[dict]:
    """Train ``model`` in place and return the per-epoch history (loss, optional val metrics).

    ``train_data``: a sequence of PyG graphs or of ``(x, y)`` pairs (a torch Dataset), or any
    ready-made iterable of batches (a DataLoader of your own; then no class balancing or
    regression standardization). Only parameters with ``requires_grad`` are optimized, so a
    frozen model inside a mask network stays as it is. ``batch_transform`` is applied to each
    training input on the device (augmentation); ``loss_fn`` replaces the task loss.

    For regression the targets are standardized with the training set's mean and std and, when
    the model has an ``output`` layer with ``shift``/``scale`` buffers, those are set so the model
    predicts in target units.

    Epochs and batches show a progress bar with rate and time left (:mod:`xairepro.progress`);
    ``history_csv``, when given, is rewritten (atomically) with the history after every epoch, so a
    long run can be watched and a killed one shows how far it got.
    """
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    prebuilt = not isinstance(train_data, (Sequence, torch.utils.data.Dataset))
    shift = scale = None
    if cfg.task == "regression" and loss_fn is None and not prebuilt:
        shift, scale = _standardize_output(model, train_data, device)
    if prebuilt:
        loader = train_data
    else:
        sampler = (_balanced_sampler(_labels(train_data), _masks(train_data), cfg.seed)
                   if cfg.class_balanced else None)
        loader = _make_loader(train_data, cfg.batch_size, shuffle=True, seed=cfg.seed, sampler=sampler)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters")
    opt = _optimizer(params, cfg)
    sched = _scheduler(opt, cfg, len(loader))
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history: list[dict] = []
    first_epoch = 1
    if cfg.checkpoint and Path(cfg.checkpoint).exists():
        state = load_training_state(cfg.checkpoint)
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise CheckpointMismatchError(
                f"{cfg.checkpoint}: training state of another configuration ({str(err).splitlines()[0]}); "
                "delete it to restart the training from scratch") from None
        if sched is not None and state.get("scheduler"):
            sched.load_state_dict(state["scheduler"])
        scaler.load_state_dict(state["scaler"])
        _set_rng_state(state["rng"], loader)
        history, first_epoch = list(state["history"]), int(state["epoch"]) + 1
        log.info("resuming from %s after epoch %d", cfg.checkpoint, state["epoch"])
    epochs_desc = "train epochs" if first_epoch == 1 else f"train epochs {first_epoch}-{cfg.epochs} (resumed)"
    for epoch in progress_bar(range(first_epoch, cfg.epochs + 1), epochs_desc, unit="epoch"):
        model.train()
        t0, total, count = time.perf_counter(), 0.0, 0
        for batch in progress_bar(loader, f"epoch {epoch} batches", unit="batch", leave=False):
            x, y, mask = _split_batch(batch, device)
            if batch_transform is not None:
                x = batch_transform(x)
            with torch.autocast(device.type, enabled=use_amp):
                if loss_fn is not None:
                    loss = loss_fn(model, x, y, mask)
                else:
                    loss = _loss(cfg.task, model(x).float(), y, mask, scale, shift, cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.clip_grad_norm:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad_norm)
            scaler.step(opt)
            scaler.update()
            if sched is not None:
                sched.step()
            n = y.shape[0]
            total, count = total + float(loss.detach()) * n, count + n
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(count, 1),
                               "seconds": time.perf_counter() - t0}
        if val_data is not None and metric is not None and (epoch % cfg.log_every == 0 or epoch == cfg.epochs):
            pred = predict(model, val_data, cfg.batch_size * 4, device)
            row.update({f"val_{k}": v for k, v in metric(_labels(val_data), pred).items()})
        history.append(row)
        if cfg.checkpoint:
            atomic_torch_save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                "scheduler": sched.state_dict() if sched is not None else None,
                                "scaler": scaler.state_dict(), "rng": _rng_state(loader), "history": history,
                                "epoch": epoch}, Path(cfg.checkpoint))
        if history_csv is not None:
            write_history_csv(history, history_csv)
        if progress is not None:
            progress(row)
        elif epoch % cfg.log_every == 0 or epoch == cfg.epochs:
            log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in row.items() if k != "epoch"})
    return history


def write_history_csv(history: list[dict], path) -> None:
    """The per-epoch history as CSV, written to a temporary file and renamed into place."""
    import pandas as pd

    atomic_write(path, lambda tmp: pd.DataFrame(history).to_csv(tmp, index=False))


def load_training_state(path) -> dict:
    """The per-epoch training state :func:`fit` writes (see ``TrainConfig.checkpoint``), weights-only."""
    return safe_torch_load(path, "training state", "delete it to restart the training from scratch")


@torch.no_grad()
def predict(model: nn.Module, data: Sequence, batch_size: int = 256, device=None) -> np.ndarray:
    """Deterministic predictions (eval mode, dropout off) as a (n, n_out) array."""
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    outs = []
    for batch in _make_loader(data, batch_size, shuffle=False, seed=0):
        x, _, _ = _split_batch(batch, device)
        outs.append(model(x).float().cpu())
    model.train(was_training)
    out = torch.cat(outs).numpy()
    return out.reshape(len(out), -1)


def save_checkpoint(path, model: nn.Module, model_name: str, model_kwargs: dict,
                    train_config: TrainConfig | None = None, extra: dict | None = None) -> None:
    """Write weights plus everything needed to rebuild the model (atomically)."""
    atomic_torch_save({
        "model_name": model_name,
        "model_kwargs": model_kwargs,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": asdict(train_config) if train_config else None,
        "extra": extra or {},
    }, path)


class CheckpointMismatchError(ValueError):
    """A checkpoint or training state does not belong to the configuration that reads it; the
    message names the file."""


def load_checkpoint(path, device="cpu", expect: dict | None = None) -> tuple[nn.Module, dict]:
    """Rebuild a registered model from a checkpoint; returns (model in eval mode, checkpoint dict).

    ``expect``: the config's model spec (``{arch: ..., keywords...}``); a checkpoint of another
    architecture or with other constructor keywords is refused, naming the file and both specs.
    """
    from ..models import build_model

    ckpt = safe_torch_load(path, "checkpoint", "rerun the training rule that wrote it")
    needed = {"model_name", "model_kwargs", "state_dict"}
    if not isinstance(ckpt, dict) or not needed <= set(ckpt):
        raise CheckpointMismatchError(f"{path}: not a model checkpoint (needs {sorted(needed)}); "
                                      "rerun the training rule that writes it")
    if expect is not None:
        want = {k: v for k, v in expect.items() if k != "arch"}
        differs = {k: (ckpt["model_kwargs"].get(k), v) for k, v in want.items() if ckpt["model_kwargs"].get(k) != v}
        if ckpt["model_name"] != expect.get("arch") or differs:
            raise CheckpointMismatchError(
                f"{path}: a {ckpt['model_name']} checkpoint {ckpt['model_kwargs']} but the configuration asks for "
                f"{dict(expect)} (differing: {differs or 'arch'}); it was trained under another configuration: "
                "delete it and rerun its training rule")
    model = build_model(ckpt["model_name"], **ckpt["model_kwargs"])
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointMismatchError(f"{path}: its weights do not fit the {ckpt['model_name']} model it names "
                                      f"({str(err).splitlines()[0]}); rerun the training rule that writes it") from None
    model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return model, ckpt
