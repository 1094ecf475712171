"""Replicated passes: the engine every gradient and perturbation method runs on.

The ``n_copies`` samples of a method are not a Python loop: the input batch is replicated ``k``
times into one batch (copy-major), and one forward (and backward) pass gives ``k`` samples. The
tensor being attributed, the input or a layer's output, is swapped for a fresh leaf tensor inside
the pass; ``perturb`` may move it first (noise for SmoothGrad, a path point for integrated
gradients, a baseline patch for occlusion). Dropout draws its mask elementwise over the whole
batch, so every copy gets its own mask: the MC-dropout sampling BayesGrad needs. ``max_batch``
bounds the number of replicated examples per pass; a batch larger than that is split.

Gradients of the sum of per-example scores are per-example gradients because examples in a batch
are independent in eval mode (models that mix examples, batch norm in train mode or batch-level
attention, break that).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch import Tensor

from .batching import call_model, example_index, first_tensor, inputs_device, is_graph_batch, replicate, split_inputs
from .hooks import replace_layer
from .modes import eval_mode, forked_rng, has_rnn, mc_dropout

__all__ = ["Chunk", "PassResult", "run_passes"]


@dataclass
class Chunk:
    """What a perturbation sees of the pass it acts in.

    ``copies``: global indices (0..n_copies-1) of the copies in this pass; ``rows``: rows of the
    attributed tensor per copy; ``example_index``: the example of each row (the graph of an atom);
    ``start``/``stop``: the examples of the input batch in this piece.
    """

    copies: Tensor
    rows: int
    example_index: Tensor
    n_examples: int
    start: int = 0
    stop: int = 0


Perturb = Callable[[Tensor, Chunk], Tensor]


@dataclass
class PassResult:
    """``grads``: (n_copies, *shape) gradients at the (perturbed) tensor, ``None`` without
    gradients; ``values``: (n_copies, *shape) its un-perturbed value (the same in every copy unless
    dropout acts before it); ``scores``: (n_copies, n_examples) the score of each copy."""

    grads: Optional[Tensor]
    values: Tensor
    scores: Tensor


class _Leaf:
    """Swaps a value for a (perturbed) leaf tensor and keeps the clean value."""

    def __init__(self, transform: Callable[[Tensor], Tensor], need_grad: bool):
        self.transform, self.need_grad = transform, need_grad
        self.clean: Optional[Tensor] = None
        self.leaf: Optional[Tensor] = None

    def __call__(self, value):
        if self.leaf is not None:
            raise RuntimeError("the attributed layer ran more than once in one forward pass; hook a module "
                               "that is called once (e.g. the embedding), not a shared layer")
        if not isinstance(value, Tensor):
            raise TypeError(f"the attributed layer must produce a Tensor, got {type(value).__name__}")
        if self.need_grad and not torch.is_floating_point(value):
            raise TypeError("cannot differentiate with respect to an integer input (token ids, atom types); "
                            "pass layer=model.embedding, the module whose output is attributed")
        self.clean = value.detach()
        self.leaf = self.transform(self.clean).detach()
        if self.need_grad:
            self.leaf.requires_grad_(True)
        # a clone, so in-place operations after the leaf (ReLU(inplace=True)) never touch it
        return self.leaf.clone()


def _feed_input(rep, leaf: _Leaf):
    """The input batch with its first tensor (``batch.x`` for graphs) replaced through ``leaf``."""
    if is_graph_batch(rep):
        rep = copy.copy(rep)
        rep.x = leaf(rep.x)
        return rep
    if isinstance(rep, Tensor):
        return leaf(rep)
    items = list(rep)
    i, v = first_tensor(items)
    items[i] = leaf(v)
    return tuple(items)


def _one_pass(model, layer, layer_io, piece, rep, start, stop, copies, perturb, need_grad, score_fn):
    k = int(copies.numel())
    b = stop - start

    def transform(value: Tensor) -> Tensor:
        if value.shape[0] % k:
            raise ValueError(f"the attributed tensor's first dimension {value.shape[0]} is not a multiple of "
                             f"the {k} replicated copies; hook a module with batch-first output")
        rows = value.shape[0] // k
        if not is_graph_batch(piece) and rows != b:
            raise ValueError(f"the attributed tensor's first dimension ({rows} per copy) must be the batch "
                             f"dimension ({b}); hook a module with batch-first output")
        if perturb is None:
            return value
        ex, n_ex = example_index(piece, rows, value.device)
        chunk = Chunk(copies=copies.to(value.device), rows=rows, example_index=ex, n_examples=n_ex,
                      start=start, stop=stop)
        return perturb(value.reshape(k, rows, *value.shape[1:]), chunk).reshape(value.shape)

    leaf = _Leaf(transform, need_grad)
    # cuDNN's RNN kernels refuse backward in eval mode; the native kernels compute the same
    # gradient, so cuDNN is switched off only for recurrent models on CUDA
    use_cudnn = not (has_rnn(model) and inputs_device(piece).type == "cuda")
    with torch.backends.cudnn.flags(enabled=use_cudnn), (torch.enable_grad() if need_grad else torch.no_grad()):
        if layer is None:
            out = call_model(model, _feed_input(rep, leaf))
        else:
            with replace_layer(layer, leaf, layer_io):
                out = call_model(model, rep)
            if leaf.leaf is None:
                raise RuntimeError("the attributed layer was not called in the forward pass")
        score = score_fn(out, start, stop, k)
        grad = None
        if need_grad:
            (grad,) = torch.autograd.grad(score.sum(), leaf.leaf, allow_unused=True)
            if grad is None:  # the score does not depend on the attributed tensor
                grad = torch.zeros_like(leaf.leaf)
    rows = leaf.leaf.shape[0] // k
    if grad is not None:
        grad = grad.detach().reshape(k, rows, *leaf.leaf.shape[1:])
    clean = leaf.clean.reshape(k, rows, *leaf.clean.shape[1:])
    return grad, clean, score.detach().reshape(k, b)


def run_passes(model, inputs, *, n_copies: int, score_fn, layer=None, layer_io: str = "output",
               perturb: Optional[Perturb] = None, seed: Optional[int] = 0, need_grad: bool = True,
               uses_dropout: bool = False, max_batch: int = 2048) -> PassResult:
    """``n_copies`` replicated passes over ``inputs``, chunked by ``max_batch``.

    ``score_fn(output, start, stop, k)`` gives the ``(k * (stop - start),)`` scores of a pass.
    ``uses_dropout``: run under :func:`mc_dropout` (else eval mode). ``need_grad=False`` runs forward
    passes only (occlusion).
    """
    if n_copies < 1:
        raise ValueError("M must be >= 1")
    grads, values, scores = [], [], []
    with (mc_dropout(model) if uses_dropout else eval_mode(model)), forked_rng(inputs_device(inputs), seed):
        for start, stop, piece in split_inputs(inputs, max_batch):
            per_pass = max(1, max_batch // max(1, stop - start))
            g_parts, v_parts, s_parts = [], [], []
            reps = {}  # every full chunk feeds the same replicated batch: build it once
            for c0 in range(0, n_copies, per_pass):
                copies = torch.arange(c0, min(n_copies, c0 + per_pass))
                k = int(copies.numel())
                if k not in reps:
                    reps[k] = replicate(piece, k)
                g, v, s = _one_pass(model, layer, layer_io, piece, reps[k], start, stop, copies, perturb,
                                    need_grad, score_fn)
                g_parts.append(g)
                if uses_dropout:
                    v_parts.append(v)
                elif not v_parts:  # without dropout every copy sees the same clean value
                    v_parts.append(v[:1])
                s_parts.append(s)
            grads.append(torch.cat(g_parts, 0) if need_grad else None)
            values.append(torch.cat(v_parts, 0))
            scores.append(torch.cat(s_parts, 0))
    values = torch.cat(values, 1)
    if not uses_dropout:
        values = values[:1].expand(n_copies, *values.shape[1:])
    return PassResult(grads=torch.cat(grads, 1) if need_grad else None, values=values, scores=torch.cat(scores, 1))
