"""Rows per forward pass of a study's faithfulness curves, chosen per kind of device.

A forward pass's cost per row depends on the batch size and the device: on a CPU a ResNet costs less
per row in batches of a few hundred rows than of thousands (caches), on a GPU the largest batch that
fits is fastest. A study's section may name its curves' batch per device type (``curve_batch: {cpu:
128, cuda: 2048}``, measured with ``benchmarks/faithfulness_speed.py``); the curves of a job then use
the value of the device the job runs on, and the attribution keeps the run context's ``max_batch``.
A fixed value per device (not a timing taken in the job) keeps a rerun's numbers identical.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Mapping

__all__ = ["curve_batch", "with_curve_batch"]


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
