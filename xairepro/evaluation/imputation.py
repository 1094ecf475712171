"""Filling removed pixels from the pixels that remain: the numerics of the image removal operators
(:mod:`.operators`), on whole batches of images at once.

* :func:`linear_imputation`: ROAD's linear imputation (Rong et al. 2022, "A consistent and efficient
  evaluation strategy for attribution methods"): every removed pixel is the weighted mean of its
  in-image 8-neighbours (weight 1/6 for the 4 edge neighbours, 1/12 for the 4 corners), known
  neighbours entering with their values. That is one sparse, symmetric positive definite system per
  image (a weighted graph Laplacian on the removed pixels plus the weights towards known pixels on
  the diagonal); the systems of a batch are one banded system (half-width W + 1 in row-major order),
  solved by one banded Cholesky factorisation for all channels.
  An image with every pixel removed has no known neighbour to interpolate from (the system is
  singular): its pixels take ``empty`` instead.
* :func:`gaussian_blur`: a separable Gaussian blur with reflected borders.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from scipy.linalg import solveh_banded

__all__ = ["CHUNK", "NEIGHBOUR_WEIGHTS", "gaussian_blur", "linear_imputation"]

#: ROAD's neighbour weights: ((row offset, column offset), weight); they sum to 1.
NEIGHBOUR_WEIGHTS = (((1, 1), 1 / 12), ((0, 1), 1 / 6), ((-1, 1), 1 / 12), ((1, -1), 1 / 12),
                     ((0, -1), 1 / 6), ((-1, -1), 1 / 12), ((1, 0), 1 / 6), ((-1, 0), 1 / 6))
#: unknowns per banded solve (whole images; a single image that holds more is solved alone)
CHUNK = 16384


def linear_imputation(images: np.ndarray, removed: np.ndarray, empty: Optional[np.ndarray] = None) -> np.ndarray:
    """The values ``(n_removed, C)`` (float64) of the pixels where ``removed`` ``(K, H, W)`` is true, in
    row-major order (``images`` ``(K, C, H, W)`` at ``removed``'s true entries, ``np.nonzero`` order), from
    ROAD's neighbour-average equations; the channels share the system.

    ``empty``: the value ``(C,)`` (or a scalar) of the pixels of an image whose every pixel is removed
    (default 0). The images' systems are independent: they are solved in runs of whole images of at
    most :data:`CHUNK` unknowns, whose band stays in cache."""
    removed = np.asarray(removed, dtype=bool)
    K, C, H, W = images.shape
    if removed.shape != (K, H, W):
        raise ValueError(f"linear_imputation: masks of shape {removed.shape} for images {images.shape}")
    counts = removed.reshape(K, -1).sum(1)
    parts, start = [np.zeros((0, C))], 0
    while start < K:
        stop, total = start + 1, int(counts[start])
        while stop < K and total + counts[stop] <= CHUNK:
            total += int(counts[stop])
            stop += 1
        parts.append(_impute(images[start:stop], removed[start:stop], empty))
        start = stop
    return np.concatenate(parts)


def _impute(images: np.ndarray, removed: np.ndarray, empty) -> np.ndarray:
    """:func:`linear_imputation` of one run of images, as one banded system."""
    K, C, H, W = images.shape
    flat = removed.reshape(-1)
    out = np.zeros((int(flat.sum()), C))
    whole = removed.reshape(K, -1).all(1)
    if whole.any():
        fill = np.zeros(C) if empty is None else np.broadcast_to(np.asarray(empty, dtype=np.float64), (C,))
        out[np.repeat(whole, removed.reshape(K, -1).sum(1))] = fill
    solve = (removed & ~whole[:, None, None]).reshape(-1)
    unknown = np.flatnonzero(solve)
    n = len(unknown)
    if n == 0:
        return out
    variable = np.full(flat.shape[0], -1, dtype=np.int64)
    variable[unknown] = np.arange(n)
    k, rest = np.divmod(unknown, H * W)
    i, j = np.divmod(rest, W)
    # the system in lower banded form: row-major unknowns are at most W + 1 apart from their neighbours
    # (images follow each other), so the block-diagonal system is one band of half-width W + 1
    band = np.zeros((W + 2, n))
    rhs = np.zeros((n, C))
    for (di, dj), w in NEIGHBOUR_WEIGHTS:
        ii, jj = i + di, j + dj
        inside = (ii >= 0) & (ii < H) & (jj >= 0) & (jj < W)
        eq = np.flatnonzero(inside)
        neighbour = k[eq] * H * W + ii[eq] * W + jj[eq]
        band[0, eq] += w
        is_unknown = solve[neighbour]
        row, col = eq[is_unknown], variable[neighbour[is_unknown]]
        below = row > col
        band[row[below] - col[below], col[below]] = -w
        known = ~is_unknown
        nk, nrest = np.divmod(neighbour[known], H * W)
        ni, nj = np.divmod(nrest, W)
        rhs[eq[known]] += w * np.asarray(images[nk, :, ni, nj], dtype=np.float64)   # one neighbour per equation
    out[np.isin(np.flatnonzero(flat), unknown, assume_unique=True)] = solveh_banded(band, rhs, lower=True,
                                                                                     check_finite=False)
    return out


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """``images`` ``(K, C, H, W)`` blurred by a Gaussian of standard deviation ``sigma`` pixels
    (kernel radius ``ceil(3 sigma)``, borders reflected, each channel on its own)."""
    if sigma <= 0:
        raise ValueError(f"gaussian_blur: sigma must be > 0, got {sigma}")
    K, C, H, W = images.shape
    radius = min(int(math.ceil(3 * float(sigma))), H - 1, W - 1)
    t = torch.arange(-radius, radius + 1, dtype=images.dtype, device=images.device)
    kernel = torch.exp(-0.5 * (t / float(sigma)) ** 2)
    kernel = kernel / kernel.sum()
    x = images.reshape(K * C, 1, H, W)
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    x = F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))
    return x.reshape(K, C, H, W)
