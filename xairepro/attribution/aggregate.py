"""Reduce attribution samples, as chainer-chemistry's ``Calculator.aggregate``.

``raw`` averages the signed samples, ``abs`` their magnitudes and ``square``
their squares; the channel sum comes after the elementwise transform and before
the mean over the sampling axis 0.
"""
from __future__ import annotations

from typing import Optional, Union

import numpy as np
import torch

__all__ = ["aggregate"]

Axis = Optional[Union[int, tuple]]


def aggregate(samples, method: str = "raw", channel_axis: Axis = None, return_std: bool = False):
    """``(M, batch, *shape)`` samples -> ``(batch, *shape)`` without the channel axes.

    method
        ``raw``: s, ``abs``: |s|, ``square``: s^2, applied elementwise.
    channel_axis
        int, tuple or None (the default: sum nothing). Non-negative numbers index the *samples*
        array; negative ones count from the end (``-1`` for atoms x channels or channels-last
        tokens, ``-3`` for ``(B, C, H, W)`` images). Axis 0 (the samples) and axis 1 (the batch:
        examples, or the atoms of a graph batch) are never summed: naming either is a ``ValueError``.
    return_std
        also return the standard deviation over the ``M`` samples of the transformed,
        channel-summed samples (BayesGrad's uncertainty map; ``correction=1``, zero when ``M == 1``).

    An :class:`~xairepro.attribution.Explanation` is reduced through its samples. numpy arrays in
    give numpy arrays out. A tuple of sample tensors (tuple inputs) gives a tuple,
    each reduced the same way (``None`` stays ``None``).
    """
    if hasattr(samples, "each_sample_is_an_order"):  # an Explanation
        samples = samples.samples
    if isinstance(samples, tuple):
        outs = [None if s is None else aggregate(s, method, channel_axis, return_std) for s in samples]
        if not return_std:
            return tuple(outs)
        return (tuple(None if o is None else o[0] for o in outs),
                tuple(None if o is None else o[1] for o in outs))
    as_numpy = isinstance(samples, np.ndarray)
    s = torch.from_numpy(samples) if as_numpy else samples
    if s.dim() < 1:
        raise ValueError("samples need a leading sampling axis")
    if method == "raw":
        t = s
    elif method == "abs":
        t = s.abs()
    elif method == "square":
        t = s * s
    else:
        raise ValueError("method must be 'raw', 'abs' or 'square'")
    if channel_axis is not None:
        axes = channel_axis if isinstance(channel_axis, (tuple, list)) else (channel_axis,)
        axes = tuple(int(a) % s.dim() for a in axes)
        if 0 in axes:
            raise ValueError("channel_axis cannot be the sampling axis 0")
        if 1 in axes and s.dim() >= 2:
            raise ValueError(
                f"channel_axis {channel_axis} names axis 1 of samples shaped {tuple(s.shape)}, "
                "the batch axis (M, batch, ...): aggregate never sums over examples. Pass the "
                "channel axis explicitly (e.g. -1, or -3 for images) or None")
        if axes:
            t = t.sum(dim=axes)
    mean = t.mean(dim=0)
    if not return_std:
        return mean.numpy() if as_numpy else mean
    if t.shape[0] > 1:
        std = t.std(dim=0, correction=1)
    else:
        std = torch.zeros_like(mean)
    if as_numpy:
        return mean.numpy(), std.numpy()
    return mean, std
