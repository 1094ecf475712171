"""Which elements are removed together: feature groups (a mask of ids) and sliding windows.

Both are validated against the per-example shape of the input they apply to, and a shape that
does not fit names that input (``input 0``, ``input 1`` of a tuple, or ``the layer output``).
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import torch
from torch import Tensor

__all__ = ["feature_groups", "flat_feature_mask", "flat_window_masks", "group_sizes", "sliding_windows"]


def _mask_ids(feature_mask, feat_shape, n_examples: int, device, where: str) -> Tensor:
    feat = tuple(int(d) for d in feat_shape)
    fm = torch.as_tensor(feature_mask, device=device)
    if torch.is_floating_point(fm) or torch.is_complex(fm):
        raise TypeError(f"feature_mask for {where} must hold integer group ids")
    fm = fm.long()
    while fm.dim() > len(feat) + 1 and fm.shape[0] == 1:
        fm = fm[0]
    try:
        if fm.dim() <= len(feat):
            return fm.broadcast_to(feat).reshape(-1)
        if fm.dim() == len(feat) + 1 and fm.shape[0] in (1, n_examples):
            ids = fm.broadcast_to((fm.shape[0], *feat)).reshape(fm.shape[0], -1)
            return ids[0] if ids.shape[0] == 1 else ids
    except RuntimeError:
        pass
    raise ValueError(f"feature_mask of shape {tuple(fm.shape)} does not fit {where}, a batch of {n_examples} "
                     f"examples of shape {feat}; accepted: {feat} or broadcastable to it (one mask for all "
                     f"examples), (1, *{feat}) (the same), or ({n_examples}, *{feat}) (one mask per example)")


def _check_ids(ids: Tensor) -> int:
    uniq = torch.unique(ids)
    if not torch.equal(uniq, torch.arange(len(uniq), device=ids.device)):
        raise ValueError("feature_mask must use the ids 0..G-1")
    return int(len(uniq))


def feature_groups(feature_mask, feat_shape, n_examples: int, device, where: str = "input 0") -> tuple[Tensor, int]:
    """Flat group ids, ``(features,)`` shared or ``(batch, features)`` per example, and ``G``.

    Accepted shapes, with ``feat_shape`` the per-example shape and ``B`` the batch size: ``feat_shape``
    or any shape broadcastable to it (shared), ``(1, *feat_shape)`` (shared) or ``(B, *feat_shape)``
    (one mask per example). Ids are the integers ``0..G-1``, all used by the mask as a whole.
    """
    ids = _mask_ids(feature_mask, feat_shape, n_examples, device, where)
    return ids, _check_ids(ids)


def group_sizes(ids: Tensor, G: int) -> Tensor:
    """Elements per group: ``(G,)`` for shared ids, ``(batch, G)`` for per-example ids."""
    if ids.dim() == 1:
        return torch.bincount(ids, minlength=G)
    return torch.stack([torch.bincount(row, minlength=G) for row in ids])


def flat_feature_mask(spec, items: list, attributed: list, n: int) -> Tensor:
    """Tuple inputs: one feature mask per input -> one mask over the flat features.

    Ids are shared across inputs (as in captum: the same id in two inputs is one group).
    """
    if isinstance(spec, (tuple, list)):
        specs = list(spec)
        if len(specs) == len(items) and len(items) != len(attributed):
            specs = [specs[i] for i in attributed]
        if len(specs) != len(attributed):
            raise ValueError(f"{len(specs)} feature masks for {len(attributed)} attributed inputs")
    elif len(attributed) == 1:
        specs = [spec]
    else:
        raise ValueError("tuple inputs need a tuple of feature masks, one per input")
    parts = []
    for spec_i, i in zip(specs, attributed):
        if spec_i is None:
            raise ValueError(f"feature_mask for input {i} is None: give every input a mask")
        ids = _mask_ids(spec_i, items[i].shape[1:], n, items[i].device, f"input {i}")
        parts.append(ids.expand(n, -1) if ids.dim() == 1 else ids)
    out = torch.cat(parts, 1)
    if all(p.shape[0] == 1 or bool((p == p[:1]).all()) for p in parts):
        out = out[0]
    _check_ids(out)
    return out


def _as_ints(spec, rank: int, what: str, where: str) -> tuple:
    if isinstance(spec, int):
        return (spec,) * rank
    spec = tuple(spec)
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in spec):
        raise TypeError(f"{what} for {where} must be ints, got {spec}")
    if len(spec) != rank:
        raise ValueError(f"{what} {spec} has {len(spec)} entries but {where} has {rank} axes per example "
                         f"(one entry per axis after the batch axis)")
    return spec


def sliding_windows(feat_shape: Sequence[int], window, strides, where: str = "input 0") -> list[tuple[slice, ...]]:
    """captum's sliding windows: positions ``0, s, 2s, ...`` per axis, ``ceil((size - w) / s) + 1`` of
    them (the last cropped at the border). ``window`` and ``strides`` need one entry per axis of the
    per-example shape (an int stride applies to every axis)."""
    feat_shape = tuple(int(d) for d in feat_shape)
    window = (1,) * len(feat_shape) if window is None else _as_ints(window, len(feat_shape), "sliding_window_shapes",
                                                                        where)
    strides = _as_ints(1 if strides is None else strides, len(feat_shape), "strides", where)
    per_axis = []
    for axis, (size, w, s) in enumerate(zip(feat_shape, window, strides)):
        if w < 1 or s < 1:
            raise ValueError(f"window {window} and strides {strides} for {where} must be positive")
        if w > size:
            raise ValueError(f"window {window} is larger than {where} ({feat_shape}) on axis {axis}")
        if s > w and size != w:
            raise ValueError(f"stride {s} larger than the window {w} on axis {axis} of {where} leaves elements "
                             "unoccluded")
        n = math.ceil((size - w) / s) + 1
        per_axis.append([slice(i * s, min(i * s + w, size)) for i in range(n)])
    return [tuple(p) for p in itertools.product(*per_axis)]


def flat_window_masks(shapes: list[tuple], windows: list, strides: list, names: list[str]) -> Tensor:
    """``(n_windows, total features)`` booleans: the windows of every input over the flat features
    (``names``: how each input is named in an error)."""
    sizes = [int(torch.Size(sh).numel()) for sh in shapes]
    total, off, blocks = sum(sizes), 0, []
    for shape, size, w, st, name in zip(shapes, sizes, windows, strides, names):
        wins = sliding_windows(shape, w, st, where=name)
        m = torch.zeros((len(wins), total), dtype=torch.bool)
        for r, sl in enumerate(wins):
            one = torch.zeros(shape, dtype=torch.bool)
            one[sl] = True
            m[r, off:off + size] = one.reshape(-1)
        blocks.append(m)
        off += size
    return torch.cat(blocks)
