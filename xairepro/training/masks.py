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


class _InputsOnly:
    """Batches as ``(inputs, placeholder labels)`` pairs, which is what ``fit`` iterates."""

    def __init__(self, loader: Iterable, input_fn: Callable):
        self.loader, self.input_fn = loader, input_fn

    def __len__(self):
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            inputs = self.input_fn(batch)
            n = inputs.num_graphs if hasattr(inputs, "num_graphs") else len(inputs)
            yield inputs, torch.zeros(n)


def train_mask_net(mask_net, loader: Iterable, epochs: int = 10, lr: float = 1e-3, device="cpu",
                   input_fn: Optional[Callable] = None, seed: int = 0, **train_fields) -> list[dict]:
    """Train ``mask_net`` on the inputs of ``loader`` (a sized iterable of batches; a batch is the
    inputs, or a tuple whose first item is; ``input_fn`` picks them otherwise). Further
    :class:`TrainConfig` fields (``optimizer``, ``checkpoint``, ``amp``...) pass through.
    Returns the per-epoch history of :func:`fit` (``train_loss`` is the mask network's loss)."""
    cfg = TrainConfig(epochs=epochs, lr=lr, device=str(device), seed=seed, **train_fields)
    history = fit(mask_net, _InputsOnly(loader, input_fn or _default_input_fn), None, cfg,
                  loss_fn=lambda net, x, y, mask: net.loss(x)[0])
    mask_net.eval()
    return history
