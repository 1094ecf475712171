"""Model modes and random state: eval mode, MC dropout, and a forked, seeded RNG."""
from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch
from torch import nn

__all__ = ["eval_mode", "forked_rng", "has_dropout", "has_rnn", "is_dropout", "mc_dropout"]


def is_dropout(module: nn.Module) -> bool:
    """Dropout modules that MC dropout keeps stochastic: those that drop anything (``p > 0``).

    Every torch dropout flavour derives from ``_DropoutNd``; a custom dropout module (word dropout)
    opts in with ``is_dropout = True``. A dropout module with ``p = 0`` (a model built with its dropout
    switched off) samples nothing and does not count. Functional dropout (``F.dropout(x, training=self.training)``,
    as inside several torch_geometric layers) and the inter-layer dropout of ``nn.GRU``/``nn.LSTM``
    follow their owning module's flag, which MC dropout keeps in eval mode, so they are NOT
    sampled: models meant for BayesGrad must use ``nn.Dropout`` modules.
    """
    flagged = isinstance(module, nn.modules.dropout._DropoutNd) or bool(getattr(module, "is_dropout", False))
    return flagged and float(getattr(module, "p", 1.0)) > 0


def has_dropout(model) -> bool:
    return isinstance(model, nn.Module) and any(is_dropout(m) for m in model.modules())


def has_rnn(model) -> bool:
    return isinstance(model, nn.Module) and any(isinstance(m, nn.RNNBase) for m in model.modules())


@contextlib.contextmanager
def restore_modes(model) -> Iterator[None]:
    """Restore every module's train/eval flag on exit (plain callables have none)."""
    modules = model.modules() if isinstance(model, nn.Module) else []
    flags = [(m, m.training) for m in modules]
    try:
        yield
    finally:
        for m, training in flags:
            m.training = training


@contextlib.contextmanager
def eval_mode(model) -> Iterator:
    """``model.eval()`` for the duration of the block; original flags restored."""
    with restore_modes(model):
        if isinstance(model, nn.Module):
            model.eval()
        yield model


@contextlib.contextmanager
def mc_dropout(model) -> Iterator:
    """Monte-Carlo dropout: everything in eval mode except the dropout modules.

    Batch norm stays in eval mode, so it uses (and never updates) its running statistics; only
    the dropout masks are random, the approximate posterior sampling of Gal & Ghahramani that
    BayesGrad relies on. All train/eval flags are restored on exit.
    """
    with restore_modes(model):
        if isinstance(model, nn.Module):
            model.eval()
            for m in model.modules():
                if is_dropout(m):
                    m.train()
        yield model


@contextlib.contextmanager
def forked_rng(device: torch.device, seed: Optional[int]) -> Iterator[None]:
    """Seed the global RNG (dropout masks draw from it) inside a fork.

    ``fork_rng`` restores the caller's CPU (and the used CUDA device's) RNG state afterwards, so
    attributing never perturbs a training run's random stream. ``seed=None`` keeps the stream.
    """
    devices = [device.index if device.index is not None else torch.cuda.current_device()] \
        if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        if seed is not None:
            torch.default_generator.manual_seed(int(seed))
            if device.type == "cuda":
                with torch.cuda.device(devices[0]):
                    torch.cuda.manual_seed(int(seed))
        yield
