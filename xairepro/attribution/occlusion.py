"""Occlusion: the drop of the score when part of the input or of a layer is set to a baseline.

Every occlusion pattern is one replicated copy of the whole batch (forward passes only, chunked
by ``max_batch``). Three ways to choose what is removed together:

* sliding windows (``sliding_window_shapes``, ``strides``: captum's names and semantics) over the
  per-example axes of a tensor (an image, a one-hot sequence, a ``(B, T, C)`` embedding);
* rows (``sliding_window_shapes="rows"``): one row of the attributed tensor at a time, an atom of
  a graph (the ``j``-th copy removes the ``j``-th atom of every graph at once, so the number of
  passes is the largest molecule's atom count) or a token of a sequence; the default at a layer
  and for graph batches;
* feature groups (``feature_mask``, captum's ``FeatureAblation``), shared or per example.

Attributions are additive: each element of a removed region gets the drop divided by the
region's number of elements (the mean over the windows that cover it), so a unit's score, the
sum over its elements, is the drop when that unit alone is removed. captum gives every element
the whole drop: its values are ours times the window's element count.
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import Tensor

from ._utils.batching import is_graph_batch
from ._utils.feature_masks import (feature_groups, flat_feature_mask, flat_window_masks, group_sizes,
                                   sliding_windows)
from ._utils.passes import Chunk
from .core import Call, PerturbationAttribution, Result
from .registry import register_method

__all__ = ["Occlusion"]

ROWS = "rows"


@register_method("occlusion")
class Occlusion(PerturbationAttribution):
    """Occlusion at the input or at a layer; deterministic (one sample whatever ``M``).

    sliding_window_shapes
        ``"rows"`` or a tuple over the per-example axes of the attributed tensor (for tuple inputs a
        tuple of those, one per input); default: rows at a layer and for graph batches, every single
        element otherwise.
    strides
        an int or a tuple with one entry per axis (default 1); ignored for rows.
    baselines
        the occluding value (a float or a tensor broadcastable to the attributed tensor; for tuple
        inputs one per input, or callables ``x -> baseline``).
    feature_mask
        integer group ids ``0..G-1`` instead of windows, of the per-example shape (or broadcastable
        to it) or ``(batch, *per-example shape)``; a tuple of masks for tuple inputs.
    """

    def __init__(self, model, layer=None, *, sliding_window_shapes: Union[str, Sequence, None] = None,
                 strides: Union[int, Sequence, None] = None, feature_mask=None, **kwargs):
        super().__init__(model, layer, **kwargs)
        if feature_mask is not None and sliding_window_shapes is not None:
            raise ValueError("give sliding_window_shapes= or feature_mask=, not both")
        if isinstance(sliding_window_shapes, str) and sliding_window_shapes != ROWS:
            raise ValueError(f"sliding_window_shapes must be 'rows' or a tuple of ints, got {sliding_window_shapes!r}")
        if isinstance(sliding_window_shapes, list):
            sliding_window_shapes = tuple(tuple(w) if isinstance(w, list) else w for w in sliding_window_shapes)
        self.window, self.strides, self.feature_mask = sliding_window_shapes, strides, feature_mask
        self.options.update(sliding_window_shapes=sliding_window_shapes, strides=strides,
                            feature_mask=feature_mask)

    # ------------------------------------------------------------- tuple inputs
    def _flat_setup(self, call: Call) -> None:
        flat = call.flat
        items, attributed, n = flat.items, flat.attributed, flat.flat.shape[0]
        if self.feature_mask is not None:
            call.extra["feature_mask"] = flat_feature_mask(self.feature_mask, items, attributed, n)
            return
        if self.window == ROWS:
            raise ValueError("sliding_window_shapes='rows' needs layer= (rows of a hooked (B, T, C) output); "
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
                raise ValueError(f"{what}: {len(spec)} entries for {len(attributed)} inputs; give one per "
                                 "input, e.g. ((3,), (1, 2, 2))")
            return list(spec)
        call.extra["window_masks"] = flat_window_masks(
            [tuple(items[i].shape[1:]) for i in attributed], per_input(self.window, "sliding_window_shapes"),
            per_input(self.strides, "strides"), [f"input {i}" for i in attributed])

    # ----------------------------------------------------------------- compute
    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if (self.layer is None and isinstance(inputs, Tensor) and self.feature_mask is None and call.flat is None
                and not isinstance(self.window, str)):
            sliding_windows(inputs.shape[1:], self.window, self.strides, "input 0")  # refuse before any pass
        clean = self._forward(model, call, inputs, 1, None, None)
        shape, clean_scores = tuple(clean.values.shape[1:]), clean.scores[0]
        where = "the layer output" if self.layer is not None else "input 0"
        mask = call.extra.get("feature_mask", self.feature_mask)
        if mask is not None:
            return self._groups(model, call, inputs, shape, clean_scores, mask, seed, where)
        if self.window == ROWS or (self.window is None and (is_graph_batch(inputs) or self.layer is not None)):
            return self._rows(model, call, inputs, shape, clean_scores, seed)
        masks = call.extra.get("window_masks")
        if masks is None:
            windows = sliding_windows(shape[1:], self.window, self.strides, where)
            masks = torch.zeros((len(windows), *shape[1:]), dtype=torch.bool)
            for i, sl in enumerate(windows):
                masks[(i, *sl)] = True

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            m = masks.to(v.device)[chunk.copies.to(v.device)].unsqueeze(1)  # (k, 1, *feat)
            return torch.where(m, call.baseline_like(v, chunk).expand_as(v), v)

        n_win = masks.shape[0]
        run = self._forward(model, call, inputs, n_win, perturb, seed)
        drops = clean_scores.unsqueeze(0) - run.scores  # (n_win, B)
        m = masks.to(drops.device, drops.dtype)
        per_element = m / m.reshape(n_win, -1).sum(1).clamp_min(1).view(-1, *([1] * (m.dim() - 1)))
        view = (n_win, drops.shape[1]) + (1,) * (m.dim() - 1)
        total = (drops.view(view) * per_element.unsqueeze(1)).sum(0)
        attr = total / m.sum(0).clamp_min(1)
        return Result(attr.unsqueeze(0), clean_scores.unsqueeze(0), extras={"drops": drops})

    def _rows(self, model, call, inputs, shape, clean_scores, seed) -> Result:
        rows = shape[0]
        if is_graph_batch(inputs) and rows == int(inputs.num_nodes):
            batch_vec = inputs.batch.cpu()
            ptr = torch.zeros(int(inputs.num_graphs) + 1, dtype=torch.long)
            ptr[1:] = torch.bincount(batch_vec, minlength=int(inputs.num_graphs)).cumsum(0)
            local = torch.arange(rows) - ptr[batch_vec]   # atom index within its graph
            n_patterns, nodes = (int(local.max()) + 1 if rows else 0), True
        elif not is_graph_batch(inputs):
            if len(shape) < 2:
                raise ValueError(f"row occlusion needs a tensor with a row axis after the batch axis, e.g. "
                                 f"(B, T, C); the attributed tensor has shape {shape}")
            n_patterns, nodes = shape[1], False
        else:
            raise ValueError("row occlusion on a graph needs a node-level layer (one row per atom)")

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            c = chunk.copies.to(v.device)
            if nodes:
                m = local.to(v.device).unsqueeze(0) == c.unsqueeze(1)                   # (k, N)
            else:
                m = torch.arange(v.shape[2], device=v.device).unsqueeze(0) == c.unsqueeze(1)
                m = m.unsqueeze(1).expand(-1, v.shape[1], -1)                           # (k, B, T)
            m = m.view(*m.shape, *([1] * (v.dim() - m.dim())))
            return torch.where(m, call.baseline_like(v, chunk).expand_as(v), v)

        run = self._forward(model, call, inputs, n_patterns, perturb, seed)
        drops = clean_scores.unsqueeze(0) - run.scores  # (n_patterns, B)
        row = drops[local.to(drops.device), batch_vec.to(drops.device)] if nodes else drops.t()  # (N,) | (B, T)
        per_row = shape[1:] if nodes else shape[2:]
        size = int(torch.Size(per_row).numel())
        attr = (row / size).view(*row.shape, *([1] * len(per_row))).expand(shape).clone()
        return Result(attr.unsqueeze(0), clean_scores.unsqueeze(0), extras={"row_drops": row})

    def _groups(self, model, call, inputs, shape, clean_scores, mask, seed, where) -> Result:
        if is_graph_batch(inputs):
            raise ValueError("feature_mask= works on tensor batches, not on graph batches (use "
                             "sliding_window_shapes='rows' at the atom embedding)")
        n = int(shape[0])
        fm, G = feature_groups(mask, shape[1:], n, clean_scores.device, where)

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            k, b = v.shape[0], v.shape[1]
            ids = fm.to(v.device)
            if ids.dim() == 2:
                ids = ids[chunk.start:chunk.stop]                                     # (b, F)
            m = ids.unsqueeze(0) == chunk.copies.to(v.device).view(-1, *([1] * ids.dim()))
            if m.dim() == 2:
                m = m.unsqueeze(1)
            base = call.baseline_like(v, chunk).expand_as(v).reshape(k, b, -1)
            return torch.where(m, base, v.reshape(k, b, -1)).reshape(v.shape)

        run = self._forward(model, call, inputs, G, perturb, seed)
        drops = clean_scores.unsqueeze(0) - run.scores  # (G, B)
        ids = fm.to(drops.device)
        sizes = group_sizes(ids, G).to(drops.device, drops.dtype).clamp_min(1)
        ids = ids.expand(n, -1) if ids.dim() == 1 else ids
        sizes = sizes.expand(n, -1) if sizes.dim() == 1 else sizes
        share = drops.t() / sizes                                                        # (B, G)
        return Result(share.gather(1, ids).reshape(1, *shape).clone(), clean_scores.unsqueeze(0),
                      extras={"drops": drops})
