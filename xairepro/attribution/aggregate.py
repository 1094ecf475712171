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


def aggregate(samples, method: str = "raw", channel_axis: Axis = -1, return_std: bool = False):
    """``(M, *shape)`` samples -> ``shape`` without the channel axis.

    method
        ``raw``: s, ``abs``: |s|, ``square``: s^2, applied elementwise.
    channel_axis
        int, tuple or None.  Non-negative numbers index the *samples* array
        (axis 0 is the sampling axis and cannot be summed); negative ones count
        from the end.  ``None`` sums nothing.
    return_std
        also return the standard deviation over the ``M`` samples of the
        transformed, channel-summed samples (BayesGrad's uncertainty map;
        ``correction=1``, zero when ``M == 1``).

    numpy arrays in give numpy arrays out.
    """
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
