"""Tuple inputs as one flat batch: ``compute((x1, x2, n))`` for a model called ``model(x1, x2, n)``.

The attributed items of a tuple (floating-point tensors for gradient methods, every tensor for
perturbation methods) are flattened per example and concatenated into one ``(batch, features)``
tensor; :class:`FlatModel` calls the model from it. The other items (integers, non-tensors,
``additional_forward_args``) are carried along: after the flat tensor in the engine's inputs, or,
for methods that build their own evaluation batches, tiled by the wrapper over the copies.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["FlatInputs", "FlatModel", "flatten_inputs", "input_baseline", "needs_flattening", "per_input"]


class FlatModel(nn.Module):
    """Calls ``model(*items)`` from one flat ``(n, features)`` tensor of the attributed items."""

    def __init__(self, model, n_items: int, attributed, shapes, dtypes, pass_idx, pass_values, n_examples: int):
        super().__init__()
        if isinstance(model, nn.Module):
            self.inner = model
        else:
            object.__setattr__(self, "inner", model)
        self.n_items, self.attributed = n_items, list(attributed)
        self.shapes, self.dtypes = [tuple(s) for s in shapes], list(dtypes)
        self.sizes = [int(torch.Size(s).numel()) for s in self.shapes]
        self.pass_idx, self.pass_values = list(pass_idx), list(pass_values)
        self.n_examples = int(n_examples)

    def unflatten(self, flat: Tensor, lead: tuple) -> list:
        out, off = [], 0
        for shape, size in zip(self.shapes, self.sizes):
            out.append(flat[..., off:off + size].reshape(*lead, *shape))
            off += size
        return out

    def forward(self, flat, *carried):
        n = flat.shape[0]
        if not carried and self.pass_idx:
            k = n // self.n_examples
            carried = [torch.cat([v] * k, 0) if isinstance(v, Tensor) and k > 1 else v for v in self.pass_values]
        args = [None] * self.n_items
        for i, part, dt in zip(self.attributed, self.unflatten(flat, (n,)), self.dtypes):
            args[i] = part if part.dtype == dt else part.to(dt)
        for i, v in zip(self.pass_idx, carried):
            args[i] = v
        return self.inner(*args)


def per_input(spec, n: int, what: str) -> list:
    """One entry per input: a tuple/list of ``n`` entries, or one value repeated."""
    if isinstance(spec, (tuple, list)):
        if len(spec) != n:
            raise ValueError(f"{what} has {len(spec)} entries for {n} inputs")
        return list(spec)
    return [spec] * n


def input_baseline(spec, x: Tensor, what: str = "baselines") -> Tensor:
    """One input's baseline as a ``(batch, *shape)`` tensor: a scalar, a tensor or a callable."""
    if spec is None:
        spec = 0.0
    if callable(spec) and not isinstance(spec, Tensor):
        spec = spec(x)
    b = torch.as_tensor(spec, device=x.device)
    b = b.to(x.dtype if torch.is_floating_point(x) or not torch.is_floating_point(b) else b.dtype)
    try:
        return b.broadcast_to(x.shape)
    except RuntimeError:
        raise ValueError(f"{what} of shape {tuple(b.shape)} does not broadcast to the input of shape "
                         f"{tuple(x.shape)}; give a scalar, a tensor of the per-example shape {tuple(x.shape[1:])}, "
                         f"(1, ...) or one row per example ({x.shape[0]}, ...), or a callable x -> baseline") from None


@dataclass
class FlatInputs:
    """A tuple input flattened: the wrapper model, the engine's inputs, the per-example baseline
    ``(batch, features)`` and how to split flat attributions back into one tensor per input."""

    model: FlatModel
    flat: Tensor
    pass_values: list
    baseline: Tensor
    items: list
    attributed: list
    single: bool

    def engine_inputs(self, carry: bool):
        return self.flat if (not self.pass_values or not carry) else (self.flat, *self.pass_values)

    def split(self, t: Tensor):
        parts = self.model.unflatten(t, tuple(t.shape[:-1]))
        res: list[Any] = [None] * len(self.items)
        for i, part in zip(self.attributed, parts):
            res[i] = part
        return res[0] if self.single else tuple(res)


def flatten_inputs(model, inputs, additional_forward_args, baselines, *, integers: bool, owner: str) -> FlatInputs:
    """Flatten a tuple input (or a single tensor with extra forward arguments or a callable or
    per-input baseline) for a method named ``owner``; ``integers``: integer tensors are attributed
    too (perturbation methods)."""
    single = not isinstance(inputs, (tuple, list))
    items = [inputs] if single else list(inputs)
    extras = [] if additional_forward_args is None else (
        list(additional_forward_args) if isinstance(additional_forward_args, (tuple, list))
        else [additional_forward_args])
    all_items = items + extras

    def attributable(v):
        if not isinstance(v, Tensor) or v.dim() == 0:
            return False
        return torch.is_floating_point(v) or (integers and not torch.is_complex(v))
    attributed = [i for i, v in enumerate(items) if attributable(v)]
    if not attributed:
        raise TypeError(f"{owner}: none of the inputs can be attributed (gradients need floating-point "
                        "tensors; for token ids or atom types pass layer=model.embedding)")
    xs = [items[i] for i in attributed]
    B = int(xs[0].shape[0])
    for i, x in zip(attributed, xs):
        if x.shape[0] != B:
            raise ValueError(f"{owner}: input {i} has {x.shape[0]} examples, input {attributed[0]} has {B}")
    dtype = xs[0].dtype
    for x in xs[1:]:
        dtype = torch.promote_types(dtype, x.dtype)
    flat = torch.cat([x.reshape(B, -1).to(dtype) for x in xs], 1)
    pass_idx = [i for i in range(len(all_items)) if i not in attributed]
    pass_values = [all_items[i] for i in pass_idx]
    wrapper = FlatModel(model, len(all_items), attributed, [x.shape[1:] for x in xs], [x.dtype for x in xs],
                        pass_idx, pass_values, B)
    if isinstance(baselines, Tensor) and len(attributed) > 1:
        raise ValueError(f"{owner}: one baselines tensor for several inputs is ambiguous: pass a tuple with "
                         "one baseline (scalar, tensor or callable) per input")
    bspec = per_input(baselines, len(items), "baselines")
    baseline = torch.cat([input_baseline(bspec[i], items[i]).reshape(B, -1).to(dtype) for i in attributed], 1)
    return FlatInputs(model=wrapper, flat=flat, pass_values=pass_values, baseline=baseline, items=items,
                      attributed=attributed, single=single)


def needs_flattening(inputs, additional_forward_args, baselines) -> bool:
    """Tuple inputs, extra forward arguments, or a baseline that is callable or given per input."""
    return isinstance(inputs, (tuple, list)) or additional_forward_args is not None or (
        callable(baselines) and not isinstance(baselines, Tensor)) or isinstance(baselines, (tuple, list))

