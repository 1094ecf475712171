"""Training an explanation-mask network (:class:`xairepro.attribution.ExplanationMaskNet`) with the
one training loop: the frozen model's parameters do not require gradients, so only the mask
network is optimized, and its own ``loss`` (fidelity to the frozen model's prediction plus the
mask penalties) replaces the task loss. Labels are not used."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import torch

from .core import TrainConfig, fit

__all__ = ["train_mask_net"]


def _default_input_fn(batch):
    if isinstance(batch, (list, tuple)) and not hasattr(batch, "num_graphs"):
        return batch[0]
    return batch


class _InputsAndLabels:
    """Batches as ``(inputs, labels)`` pairs, which is what ``fit`` iterates; placeholder labels when
    the batches carry none."""

    def __init__(self, loader: Iterable, input_fn: Callable):
        self.loader, self.input_fn = loader, input_fn

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            inputs = self.input_fn(batch)
            if isinstance(batch, (list, tuple)) and len(batch) > 1 and isinstance(batch[1], torch.Tensor):
                yield inputs, batch[1]
                continue
            n = inputs.num_graphs if hasattr(inputs, "num_graphs") else len(inputs)
            yield inputs, torch.full((n,), float("nan"))


def train_mask_net(mask_net, loader: Iterable, epochs: int = 10, lr: float = 1e-3, device="cpu",
                   input_fn: Optional[Callable] = None, seed: int = 0, target: str = "model",
                   **train_fields) -> list[dict]:
    """Train ``mask_net`` on the batches of ``loader`` (a sized iterable; a batch is the inputs, or
    an ``(inputs, labels, ...)`` tuple; ``input_fn`` picks the inputs otherwise). ``target``:
    ``"model"`` fits the masked prediction to the frozen model's own prediction, ``"labels"`` to the
    batch's labels (the explanatory-masks paper's training). Further :class:`TrainConfig` fields
    (``optimizer``, ``checkpoint``, ``amp``...) pass through. Returns the per-epoch history of
    :func:`fit` (``train_loss`` is the mask network's loss)."""
    if target not in ("model", "labels"):
        raise ValueError(f"target must be 'model' or 'labels', got {target!r}")
    cfg = TrainConfig(epochs=epochs, lr=lr, device=str(device), seed=seed, **train_fields)

    def loss_fn(net, x, y, mask):
        if target == "labels":
            if torch.isnan(y.float()).all():
                raise ValueError("train_mask_net(target='labels') needs (inputs, labels) batches")
            return net.loss(x, y)[0]
        return net.loss(x)[0]

    history = fit(mask_net, _InputsAndLabels(loader, input_fn or _default_input_fn), None, cfg, loss_fn=loss_fn)
    mask_net.eval()
    return history
