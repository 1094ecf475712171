"""Input batches of every kind the methods take: a tensor, a tuple of tensors, a PyG ``Batch``.

Counting examples, finding the device, replicating a batch ``k`` times into ONE batch
(copy-major, so dropout draws a fresh mask per copy), splitting it into pieces, and calling the
model on it.
"""
from __future__ import annotations

import copy
import sys
from typing import Any, Sequence

import torch
from torch import Tensor


__all__ = ["as_tuple", "call_model", "example_index", "first_tensor", "inputs_device", "is_graph_batch",
           "num_examples", "replicate", "split_inputs"]


def is_graph_batch(inputs: Any) -> bool:
    """A PyG ``Batch``? Read from ``sys.modules``: where torch_geometric was never imported, no input
    can be one, so tensor-only jobs never pay its import (about a second per job)."""
    pyg = sys.modules.get("torch_geometric.data")
    return pyg is not None and isinstance(inputs, pyg.Batch)


def as_tuple(inputs) -> tuple:
    if isinstance(inputs, tuple):
        return inputs
    if isinstance(inputs, list):
        return tuple(inputs)
    return (inputs,)


def first_tensor(items: Sequence) -> tuple[int, Tensor]:
    for i, v in enumerate(items):
        if isinstance(v, Tensor):
            return i, v
    raise TypeError("inputs contain no tensor")


def num_examples(inputs) -> int:
    """Number of examples (graphs, images, sequences, rows) in an input batch."""
    if is_graph_batch(inputs):
        return int(inputs.num_graphs)
    return int(first_tensor(as_tuple(inputs))[1].shape[0])


def inputs_device(inputs) -> torch.device:
    if is_graph_batch(inputs):
        for _, v in inputs:
            if isinstance(v, Tensor):
                return v.device
        return torch.device("cpu")
    return first_tensor(as_tuple(inputs))[1].device


def example_index(inputs, rows: int, device) -> tuple[Tensor, int]:
    """For each of ``rows`` rows of an attributed tensor, the example it belongs to, and the number
    of examples: the graph of each atom for a node-level tensor of a graph batch, else row i is
    example i."""
    if is_graph_batch(inputs) and rows == int(inputs.num_nodes) and rows != int(inputs.num_graphs):
        return inputs.batch.to(device), int(inputs.num_graphs)
    return torch.arange(rows, device=device), rows


def _replicate_graph_batch(batch, k: int):
    """``k`` copies of a PyG ``Batch`` as one ``Batch``, copy-major, by direct concatenation.

    Node and edge tensors are tiled, index tensors offset by ``c * num_nodes``, the ``batch`` vector
    by ``c * num_graphs`` (instead of ``Batch.from_data_list(batch.to_data_list() * k)``, a Python
    object per graph and copy). The slice bookkeeping is rebuilt so ``to_data_list`` still works.
    """
    if k == 1:
        return batch
    n_nodes, n_graphs = int(batch.num_nodes), int(batch.num_graphs)
    dev = inputs_device(batch)
    copies = torch.arange(k, device=dev)
    out = copy.copy(batch)
    for key, value in batch:
        if key == "ptr":
            body = (value[:-1].unsqueeze(0) + copies.unsqueeze(1) * n_nodes).reshape(-1)
            out[key] = torch.cat([body, value.new_tensor([k * n_nodes])])
        elif key == "batch":
            out[key] = (value.unsqueeze(0) + copies.unsqueeze(1) * n_graphs).reshape(-1)
        elif isinstance(value, Tensor):
            if value.dim() == 0:
                out[key] = value.repeat(k)
                continue
            dim = batch.__cat_dim__(key, value)
            dim = 0 if dim is None else dim % max(value.dim(), 1)
            tiled = torch.cat([value] * k, dim=dim)
            inc = batch.__inc__(key, value)
            if isinstance(inc, Tensor) or inc:
                inc = torch.as_tensor(inc, device=value.device)
                shape = [1] * value.dim()
                shape[dim] = -1
                offs = (copies.to(value.device) * inc).repeat_interleave(value.shape[dim])
                tiled = tiled + offs.view(shape).to(value.dtype)
            out[key] = tiled
        elif isinstance(value, list):
            out[key] = value * k
    slice_dict = getattr(batch, "_slice_dict", None)
    if slice_dict is not None:
        out._slice_dict = {key: torch.cat([torch.cat([s[:-1] + c * s[-1] for c in range(k)]), s[-1:] * k])
                           for key, s in slice_dict.items()}
    inc_dict = getattr(batch, "_inc_dict", None)
    if inc_dict is not None:
        new_inc = {}
        for key, inc in inc_dict.items():
            if inc is None:
                new_inc[key] = None
                continue
            total = torch.as_tensor(batch.__inc__(key, batch[key]) if key in batch else 0)
            new_inc[key] = torch.cat([inc + c * total.to(inc.dtype) for c in range(k)])
        out._inc_dict = new_inc
    out._num_graphs = n_graphs * k
    return out


def replicate(inputs, k: int):
    """``k`` copies of an input batch as ONE batch, ordered copy-major.

    ``[copy0 of all examples, copy1 of all examples, ...]``, so any per-example (or per-node)
    tensor computed from the result reshapes to ``(k, *shape_for_one_copy)``. Works for a tensor,
    a tuple (non-tensor items pass through) and a ``torch_geometric`` ``Batch``.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    if is_graph_batch(inputs):
        return _replicate_graph_batch(inputs, k)
    if isinstance(inputs, Tensor):
        return inputs if k == 1 else torch.cat([inputs] * k, dim=0)
    return tuple(torch.cat([v] * k, dim=0) if isinstance(v, Tensor) and k > 1 else v for v in as_tuple(inputs))


def split_inputs(inputs, size: int) -> list[tuple[int, int, Any]]:
    """Consecutive pieces of at most ``size`` examples, as ``(start, stop, piece)`` triples.

    Graph batches must come from ``Batch.from_data_list`` (PyG needs the slice bookkeeping).
    """
    n = num_examples(inputs)
    if n <= size:
        return [(0, n, inputs)]
    pieces = []
    for start in range(0, n, size):
        stop = min(n, start + size)
        if is_graph_batch(inputs):
            piece = sys.modules["torch_geometric.data"].Batch.from_data_list(inputs.index_select(slice(start, stop)))
        elif isinstance(inputs, Tensor):
            piece = inputs[start:stop]
        else:
            piece = tuple(v[start:stop] if isinstance(v, Tensor) else v for v in as_tuple(inputs))
        pieces.append((start, stop, piece))
    return pieces


def call_model(model, inputs):
    """``model(x)`` for a tensor or a graph batch, ``model(*items)`` for a tuple."""
    if is_graph_batch(inputs) or isinstance(inputs, Tensor):
        return model(inputs)
    return model(*as_tuple(inputs))
