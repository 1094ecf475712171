"""Occlusion: the drop in the score when part of the target is set to a baseline.

Two modes, both batched (each occlusion pattern is one replicated copy of the
whole batch, forward passes only, chunked by ``max_batch``):

* **sliding window** over the per-example axes of a tensor target (the input
  image, a one-hot sequence, or a hooked ``(B, T, C)`` embedding), with captum's
  semantics: window positions ``0, s, 2s, ...`` with ``ceil((size - w)/s) + 1``
  positions per axis (the last window is cropped at the border), and each element
  gets the mean drop ``F(x) - F(x_occluded)`` over the windows that cover it;
* **rows** (``window="rows"``): one row of the target (an atom of a graph, a token
  of a sequence) at a time.  For a graph batch the ``j``-th copy occludes the
  ``j``-th atom of every graph at once (graphs are independent), so the number of
  passes is the largest molecule's atom count, not the total atom count.

``compute`` returns ``(1, *target_shape)``, every element of an occluded row or
window holding that drop (so ``aggregate(..., channel_axis=None)`` is the map;
summing over channels would multiply it by their number); :meth:`row_drops`
returns one value per row.

* **feature groups** (``feature_mask=``, captum's ``FeatureAblation``): group ``g`` of
  the mask is occluded at once and each of its elements gets that drop; the mask is
  shared by all examples or given per example (``(batch, *per_example_shape)``).

Tuple inputs (``compute((x1, x2))``) are occluded one input at a time with one window
per input (``window=((3,), (1, 2, 2))``, captum's ``sliding_window_shapes``), or by a
tuple of feature masks whose ids are shared across inputs; a tuple comes back.
"""
from __future__ import annotations

import itertools
import math
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from .base import Attribution, Chunk, feature_groups, flat_feature_mask, is_graph_batch

__all__ = ["Occlusion"]


class Occlusion(Attribution):
    """Occlusion at the input or at a hooked target.

    window
        ``"rows"`` or a tuple over the per-example axes of the target (without
        the batch axis; captum's ``sliding_window_shapes``).  Default: rows for
        graph batches and hooked targets, every single element otherwise.
    strides
        int or tuple (default 1 per axis); ignored in row mode.
    baseline
        the occluding value (float or tensor broadcastable to the target shape; for tuple
        inputs a tuple of those, or callables ``x -> baseline``).
    feature_mask
        integer group ids ``0..G-1`` instead of windows, of the per-example shape (or
        broadcastable to it) or ``(batch, *per-example shape)`` for one mask per example;
        a tuple of masks for tuple inputs.

    ``M`` is ignored (one deterministic sample; ``M > 1`` warns).
    """

    default_M = 1
    ignores_M = True
    attributes_integer_inputs = True

    def __init__(self, model, layer=None, window: Union[str, Sequence[int], None] = None,
                 strides: Union[int, Sequence[int], None] = None, baseline=0.0,
                 feature_mask=None, **kwargs):
        super().__init__(model, layer, baseline=baseline, **kwargs)
        if feature_mask is not None and window is not None:
            raise ValueError("give window= or feature_mask=, not both")
        self.window, self.strides = window, strides
        self.feature_mask = feature_mask
        self._flat_masks = None

    def _flat_setup(self, method, items, attributed, n):
        if self.feature_mask is not None:
            self.feature_mask = flat_feature_mask(self.feature_mask, items, attributed, n)
            return
        if isinstance(self.window, str):
            raise ValueError("window='rows' needs layer= (rows of a hooked (B, T, C) output); "
                             "for tuple inputs give one window per input")

        def per_input(spec, what):
            if spec is None or isinstance(spec, int):
                return [spec] * len(attributed)
            spec = tuple(spec)
            if len(attributed) == 1 and all(isinstance(v, int) for v in spec):
                return [spec]
            if len(spec) == len(items) and len(items) != len(attributed):
                spec = tuple(spec[i] for i in attributed)
            if len(spec) != len(attributed):
                raise ValueError(f"{what}: {len(spec)} entries for {len(attributed)} inputs; give "
                                 "one per input, e.g. ((3,), (1, 2, 2))")
            return list(spec)
        windows, strides = per_input(self.window, "window"), per_input(self.strides, "strides")
        shapes = [tuple(items[i].shape[1:]) for i in attributed]
        sizes = [int(torch.Size(sh).numel()) for sh in shapes]
        total, off, blocks = sum(sizes), 0, []
        for shape, size, w, st in zip(shapes, sizes, windows, strides):
            wins = self._windows_for(shape, w, st)
            m = torch.zeros((len(wins), total), dtype=torch.bool)
            for r, sl in enumerate(wins):
                one = torch.zeros(shape, dtype=torch.bool)
                one[sl] = True
                m[r, off:off + size] = one.reshape(-1)
            blocks.append(m)
            off += size
        self._flat_masks = torch.cat(blocks)

    # -- pattern construction ------------------------------------------------
    def _probe_shape(self, inputs) -> tuple:
        """Shape of the target for one copy, via one clean forward pass."""
        run = self._run(inputs, 1, None, None, need_grad=False)
        return tuple(run.values.shape[1:]), run.scores[0]

    def _windows(self, feat_shape: tuple) -> list[tuple[slice, ...]]:
        return self._windows_for(feat_shape, self.window, self.strides)

    @staticmethod
    def _windows_for(feat_shape: tuple, window, strides) -> list[tuple[slice, ...]]:
        if window is None:
            window = (1,) * len(feat_shape)
        window = tuple(int(w) for w in window)
        if len(window) != len(feat_shape):
            raise ValueError(f"window {window} does not match the per-example target shape "
                             f"{feat_shape}")
        strides = strides if strides is not None else 1
        strides = (strides,) * len(window) if isinstance(strides, int) else tuple(strides)
        per_axis = []
        for size, w, s in zip(feat_shape, window, strides):
            if w > size:
                raise ValueError("window larger than the target")
            if s > w and size != w:
                raise ValueError("stride larger than the window leaves elements unoccluded")
            n = math.ceil((size - w) / s) + 1
            per_axis.append([slice(i * s, min(i * s + w, size)) for i in range(n)])
        return [tuple(p) for p in itertools.product(*per_axis)]

    def _row_mode(self, inputs) -> bool:
        if isinstance(self.window, str):
            if self.window != "rows":
                raise ValueError("window must be 'rows' or a tuple of ints")
            return True
        return self.window is None and self.feature_mask is None and (
            is_graph_batch(inputs) or self.layer is not None)

    # -- compute ---------------------------------------------------------------
    def _compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        feat_shape, clean_scores = self._probe_shape(inputs)
        if self.feature_mask is not None:
            return self._compute_groups(inputs, feat_shape, clean_scores, seed)
        if self._row_mode(inputs):
            return self._compute_rows(inputs, feat_shape, clean_scores, seed)
        if self._flat_masks is not None:
            masks = self._flat_masks
        else:
            windows = self._windows(feat_shape[1:])  # per-example axes
            masks = torch.zeros((len(windows), *feat_shape[1:]), dtype=torch.bool)
            for i, sl in enumerate(windows):
                masks[(i, *sl)] = True
        n_win = masks.shape[0]

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            m = masks.to(v.device)[chunk.copies.to(v.device)].unsqueeze(1)  # (k,1,*feat)
            return torch.where(m, self._baseline_like(v, chunk).expand_as(v), v)

        run = self._run(inputs, n_win, perturb, seed, need_grad=False)
        drops = clean_scores.unsqueeze(0) - run.scores  # (n_win, B)
        m = masks.to(drops.device, drops.dtype)
        view = (n_win, drops.shape[1]) + (1,) * (m.dim() - 1)
        total = (drops.view(view) * m.unsqueeze(1)).sum(0)
        count = m.sum(0).clamp_min(1)
        self.last_drops = drops
        return (total / count).unsqueeze(0)

    def _compute_rows(self, inputs, feat_shape, clean_scores, seed):
        rows = feat_shape[0]
        if is_graph_batch(inputs) and rows == int(inputs.num_nodes):
            batch_vec = inputs.batch.cpu()
            ptr = torch.zeros(int(inputs.num_graphs) + 1, dtype=torch.long)
            ptr[1:] = torch.bincount(batch_vec, minlength=int(inputs.num_graphs)).cumsum(0)
            local = torch.arange(rows) - ptr[batch_vec]   # atom index within its graph
            example = batch_vec
            n_patterns = int(local.max()) + 1 if rows else 0
            row_axis_first = True
        elif not is_graph_batch(inputs):
            # tensor batch: target (B, T, ...); copy j occludes position j of every example
            if len(feat_shape) < 2:
                raise ValueError("row occlusion needs a target with a row axis after the batch "
                                 "axis, e.g. (B, T, C)")
            n_patterns = feat_shape[1]
            row_axis_first = False
        else:
            raise ValueError("row occlusion on a graph needs a node-level target")

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            c = chunk.copies.to(v.device)
            if row_axis_first:
                m = local.to(v.device).unsqueeze(0) == c.unsqueeze(1)     # (k, N)
            else:
                m = torch.arange(v.shape[2], device=v.device).unsqueeze(0) == c.unsqueeze(1)
                m = m.unsqueeze(1).expand(-1, v.shape[1], -1)             # (k, B, T)
            m = m.view(*m.shape, *([1] * (v.dim() - m.dim())))
            return torch.where(m, self._baseline_like(v, chunk).expand_as(v), v)

        run = self._run(inputs, n_patterns, perturb, seed, need_grad=False)
        drops = clean_scores.unsqueeze(0) - run.scores  # (n_patterns, B)
        if row_axis_first:
            row = drops[local.to(drops.device), example.to(drops.device)]  # (N,)
        else:
            row = drops.t()  # (B, T)
        self.last_row_drops = row
        full = row.view(*row.shape, *([1] * (len(feat_shape) - row.dim()))).expand(feat_shape)
        return full.unsqueeze(0).clone()

    def _compute_groups(self, inputs, feat_shape, clean_scores, seed):
        if is_graph_batch(inputs):
            raise ValueError("feature_mask= works on tensor batches, not on graph batches "
                             "(use window='rows' at the atom embedding)")
        n = int(feat_shape[0])
        fm, G = feature_groups(self.feature_mask, feat_shape[1:], n, clean_scores.device)

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            k, b = v.shape[0], v.shape[1]
            ids = fm.to(v.device)
            if ids.dim() == 2:
                ids = ids[chunk.start:chunk.stop]                            # (b, F)
            c = chunk.copies.to(v.device).view(-1, *([1] * ids.dim()))
            m = ids.unsqueeze(0) == c                                        # (k, [b,] F)
            if m.dim() == 2:
                m = m.unsqueeze(1)
            flat = v.reshape(k, b, -1)
            base = self._baseline_like(v, chunk).expand_as(v).reshape(k, b, -1)
            return torch.where(m, base, flat).reshape(v.shape)

        run = self._run(inputs, G, perturb, seed, need_grad=False)
        drops = clean_scores.unsqueeze(0) - run.scores  # (G, B)
        self.last_drops = drops
        ids = fm.to(drops.device)
        ids = ids.expand(n, -1) if ids.dim() == 1 else ids
        return drops.t().gather(1, ids).reshape(1, *feat_shape).clone()

    def row_drops(self, inputs) -> Tensor:
        """One drop per row: ``(N,)`` atoms for a graph batch, ``(B, T)`` tokens."""
        saved = self.window
        try:
            if self.window is None:
                self.window = "rows"
            self.compute(inputs)
        finally:
            self.window = saved
        return self.last_row_drops
