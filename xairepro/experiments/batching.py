"""Rows per forward pass of a study's faithfulness curves, chosen per kind of device.

A forward pass's cost per row depends on the batch size and the device: on a CPU a ResNet costs less
per row in batches of a few hundred rows than of thousands (caches), on a GPU the largest batch that
fits is fastest. A study's section may name its curves' batch per device type (``curve_batch: {cpu:
128, cuda: 2048}``, measured with ``benchmarks/faithfulness_speed.py``); the curves of a job then use
the value of the device the job runs on, and the attribution keeps the run context's ``max_batch``.
A fixed value per device (not a timing taken in the job) keeps a rerun's numbers identical.
:class:`NoGradChunks` applies the same rows to every forward pass without gradients of a study's
explained score (the curves, the single-unit drops of the uncertainty check, forward-only methods).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

import torch
from torch import nn

__all__ = ["NoGradChunks", "curve_batch", "with_curve_batch"]


def curve_batch(section: Mapping, ctx) -> int:
    """The section's ``curve_batch`` for the type of ``ctx``'s device (``cpu``, ``cuda``, ...); the run
    context's ``max_batch`` where the section names none for that device."""
    by_device = section.get("curve_batch") or {}
    if not isinstance(by_device, Mapping):
        raise ValueError(f"curve_batch: a mapping {{device type: rows}} (e.g. {{cpu: 128, cuda: 2048}}), "
                         f"got {by_device!r}")
    value = by_device.get(ctx.torch_device.type)
    if value is None:
        return int(ctx.max_batch)
    if int(value) < 1:
        raise ValueError(f"curve_batch.{ctx.torch_device.type}: at least 1 row, got {value}")
    return int(value)


def with_curve_batch(spec, section: Mapping, ctx):
    """``spec`` (a :class:`~xairepro.experiments.suite.FaithfulnessSpec`) with its curves' ``max_batch``
    from :func:`curve_batch`."""
    return replace(spec, max_batch=curve_batch(section, ctx))


class NoGradChunks(nn.Module):
    """``module`` evaluated ``rows`` rows of its batch at a time where no gradient is taken (under
    ``torch.no_grad``: a batch of thousands of removed copies goes through in the device's best batch),
    and as it is where gradients flow (attribution keeps its own batching). Rows are independent, so the
    output is the module's own."""

    def __init__(self, module: nn.Module, rows: int):
        super().__init__()
        if int(rows) < 1:
            raise ValueError(f"NoGradChunks: at least 1 row, got {rows}")
        self.module, self.rows = module, int(rows)
        # the module's mode, not a new module's training mode: a caller that restores the wrapper's mode
        # (``score.train(was_training)``) would otherwise put an eval-mode model into training mode
        self.training = module.training

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or len(x) <= self.rows:
            return self.module(x)
        return torch.cat([self.module(x[i:i + self.rows]) for i in range(0, len(x), self.rows)])
