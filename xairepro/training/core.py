"""The training loop shared by graph, image, sequence and tabular models.

Batches are either PyG graph batches (``model(batch)``, labels in ``batch.y`` with an optional
``batch.y_mask``) or ``(x, y)`` tuples from a torch Dataset (``model(x)``). Tasks:
``regression`` (MSE on standardized targets; the model's ``output`` layer, if it has one, is set
to map back to target units), ``binary`` (BCE on logits; NaN/masked labels ignored) and
``multiclass`` (cross-entropy).
"""
from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

log = logging.getLogger(__name__)

TASKS = ("regression", "binary", "multiclass")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` -> cuda when available, else cpu; an explicit ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"config key 'device' is {name!r} but no CUDA device is available")
    return dev


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@dataclass
class TrainConfig:
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

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")


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


def _loss(task: str, out: torch.Tensor, y: torch.Tensor, mask, scale=None, shift=None):
    if task == "multiclass":
        return nn.functional.cross_entropy(out, y.long().view(-1))
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


def fit(model: nn.Module, train_data: Sequence, val_data: Sequence | None = None,
        cfg: TrainConfig = TrainConfig(), metric: Callable[[np.ndarray, np.ndarray], dict] | None = None,
        progress: Callable[[dict], None] | None = None) -> list[dict]:
    """Train ``model`` in place and return the per-epoch history (loss, optional val metrics).

    For regression the targets are standardized with the training set's mean and std and, when
    the model has an ``output`` layer with ``shift``/``scale`` buffers, those are set so the model
    predicts in target units.
    """
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    model.to(device)
    labels, masks = _labels(train_data), _masks(train_data)
    shift = scale = None
    if cfg.task == "regression":
        lab = np.where(masks, labels, np.nan)
        mean, std = np.nanmean(lab, axis=0), np.nanstd(lab, axis=0)
        std = np.where(std > 0, std, 1.0)
        shift = torch.as_tensor(mean, dtype=torch.float32, device=device)
        scale = torch.as_tensor(std, dtype=torch.float32, device=device)
        out_layer = getattr(model, "output", None)
        if out_layer is not None and hasattr(out_layer, "shift"):
            out_layer.shift.copy_(shift)
            out_layer.scale.copy_(scale)
    sampler = _balanced_sampler(labels, masks, cfg.seed) if cfg.class_balanced else None
    loader = _make_loader(train_data, cfg.batch_size, shuffle=True, seed=cfg.seed, sampler=sampler)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    use_amp = cfg.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    history = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        t0, total, count = time.perf_counter(), 0.0, 0
        for batch in loader:
            x, y, mask = _split_batch(batch, device)
            with torch.autocast(device.type, enabled=use_amp):
                out = model(x)
            loss = _loss(cfg.task, out.float(), y, mask, scale, shift)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            n = y.shape[0]
            total, count = total + loss.item() * n, count + n
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(count, 1),
                               "seconds": time.perf_counter() - t0}
        if val_data is not None and metric is not None and (epoch % cfg.log_every == 0 or epoch == cfg.epochs):
            pred = predict(model, val_data, cfg.batch_size * 4, device)
            row.update({f"val_{k}": v for k, v in metric(_labels(val_data), pred).items()})
        history.append(row)
        if progress is not None:
            progress(row)
        elif epoch % cfg.log_every == 0 or epoch == cfg.epochs:
            log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in row.items() if k != "epoch"})
    return history


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


def _atomic_torch_save(obj, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_checkpoint(path, model: nn.Module, model_name: str, model_kwargs: dict,
                    train_config: TrainConfig | None = None, extra: dict | None = None) -> None:
    """Write weights plus everything needed to rebuild the model (atomically)."""
    _atomic_torch_save({
        "model_name": model_name,
        "model_kwargs": model_kwargs,
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "train_config": asdict(train_config) if train_config else None,
        "extra": extra or {},
    }, path)


def load_checkpoint(path, device="cpu") -> tuple[nn.Module, dict]:
    """Rebuild a registered model from a checkpoint; returns (model in eval mode, checkpoint dict)."""
    from ..models import build_model

    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    model = build_model(ckpt["model_name"], **ckpt["model_kwargs"])
    model.load_state_dict(ckpt["state_dict"])
    model.to(resolve_device(device) if isinstance(device, str) else device).eval()
    return model, ckpt
