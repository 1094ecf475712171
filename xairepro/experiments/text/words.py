"""Word scores of any registered attribution method on IMDB reviews: the one way both text studies
(:mod:`.attributions`, :mod:`.faithfulness`) explain the classifier.

Every method named in the config is built once from ONE settings dict (:func:`method_settings`):
at the token embeddings (``layer=model.embedding``), from the zero embedding (``baselines=0``, the
padding embedding), the gradient methods read as ``gradient . embedding`` (``multiply_by_inputs``:
the derivative of the score with respect to a weight that scales the word's embedding, at weight
1), integrated gradients with the trapezoid rule and ``n_steps`` doubling until the median
completeness error of a chunk is within ``completeness_tol`` (at most ``max_steps``), occlusion of
one word at a time (``"rows"``), the trained mask for ``explanation_mask``. Every method explains
the softmax probability of the class the classifier predicts (``target=`` per call), as the
counterfactuals paper explains softmax scores. A method that cannot apply (Shapley sampling at a
layer, the mask where none is trained) comes back as
:class:`~xairepro.experiments.methods.NotApplicable` with its reason.

A word's score is the attribution summed over its embedding channels (``TokenUnit`` named
``word``). :func:`explain_reviews` runs :func:`~xairepro.experiments.methods.explain_chunks` with a
``reduce`` that sums each chunk's samples over the channels as soon as they are made, so the raw
samples of a full-scale run (500 reviews x 500 tokens x 100 channels x M = 64: 6 GB per method)
never exist at once: what is kept is one :class:`~xairepro.attribution.Explanation` per method
whose samples are the per-position word scores ``(M, n, T)`` (0 at padding; ``M`` = 1 for the
deterministic methods, the number of orders for the random floor), which every reading of the
project takes as it is (``units``, ``unit_spread``: the sum over channels is linear, so the mean
and the spread of a word's score over the samples are those of the raw samples). A method's own
elementwise reading (``method_options.<name>.aggregation``: ``abs``, ``square``) is applied before
the sum, and the reduced scores are then read ``raw``.
"""
from __future__ import annotations

import dataclasses
from typing import Callable, Mapping, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...attribution import Explanation
from ...context import RunContext
from ...evaluation.units import TokenUnit
from ..methods import NotApplicable, aggregations, build_methods, explain_chunks
from .data import PAD_ID

__all__ = ["WORD", "SoftmaxScore", "build_methods", "explain_reviews", "method_settings", "per_word",
           "trim_padding", "usable", "word_samples"]

#: the unit of both text studies: a word, removed by replacing its token with padding
WORD = TokenUnit(pad_id=PAD_ID, name="word")


class SoftmaxScore(nn.Module):
    """The classifier with a softmax on top: the score every method explains."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return torch.softmax(self.model(tokens).float(), -1)


def method_settings(model: nn.Module, cfg: Mapping, *, max_batch: int, mask_net=None, keep_grads: bool = True) -> dict:
    """The one settings dict of the text experiment, from its ``attribution`` section; every method
    takes the options it accepts (:func:`xairepro.attribution.create_method`). ``keep_grads``: keep
    integrated gradients' interior gradients (the saturation path needs them; the faithfulness study
    does not, and at full scale they are the largest tensor of a chunk)."""
    return {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True,
            "stdevs": float(cfg["smoothgrad_noise"]), "n_steps": int(cfg["ig_steps"]), "method": "trapezoid",
            "completeness_tol": float(cfg["completeness_tol"]), "max_steps": int(cfg["ig_max_steps"]),
            "keep_grads": bool(keep_grads), "sliding_window_shapes": "rows", "n_random": int(cfg["n_random"]),
            "max_batch": int(max_batch), "mask_net": mask_net}


def usable(methods: Mapping) -> dict:
    """The methods (or explanations) among ``methods`` that apply."""
    return {k: v for k, v in methods.items() if not isinstance(v, NotApplicable)}


def trim_padding(ids: torch.Tensor) -> torch.Tensor:
    """The columns up to the batch's longest review (at least one)."""
    last = int(((ids != PAD_ID).long() * torch.arange(1, ids.shape[1] + 1, device=ids.device)).amax())
    return ids[:, : max(last, 1)]


def word_samples(explanation: Explanation, tokens: torch.Tensor, length: int, reading: str = "raw") -> Explanation:
    """One chunk's explanation with its samples reduced to per-position word scores ``(M, b, length)``:
    ``reading`` elementwise, summed over the channels, 0 at padding (and beyond a trimmed batch).
    The integrated-gradients path and the extras are dropped (a study that reads them does so before)."""
    s = explanation.samples.detach().float().cpu()
    s = {"raw": s, "abs": s.abs(), "square": s * s}[reading]
    if s.dim() > 3:
        s = s.flatten(3).sum(-1)
    s = s * (tokens.cpu() != PAD_ID).to(s.dtype)
    if s.shape[-1] < length:
        s = F.pad(s, (0, length - s.shape[-1]))
    output = explanation.output.detach().cpu() if isinstance(explanation.output, torch.Tensor) else None
    target = explanation.target.detach().cpu() if isinstance(explanation.target, torch.Tensor) else explanation.target
    return dataclasses.replace(explanation, samples=s, output=output, target=target, path=None, extras={},
                               example_index=None)


def explain_reviews(model: nn.Module, ids: torch.Tensor, classes: torch.Tensor, names: Sequence[str], settings: Mapping,
                    *, M: int, chunk: int, ctx: RunContext, method_options: Optional[Mapping] = None, trim: bool = False,
                    seconds: Optional[dict] = None, on_chunk: Optional[Callable] = None,
                    label: str = "attribution chunks") -> dict:
    """``{name: Explanation of per-position word scores (M, n, T) | NotApplicable}`` of every method of
    ``names`` on the reviews ``ids`` (n, T) explaining ``classes`` (the methods are built once on
    ``SoftmaxScore(model)``; ``settings`` from :func:`method_settings`).

    Chunks of ``chunk`` reviews (``trim``: each cut after its longest review, for a classifier that
    ignores trailing padding); chunk ``k`` draws with seed ``ctx.child(k).seed``; ``method_options``
    as in the config (a method's ``M`` and ``aggregation`` included); ``seconds`` accumulates each
    method's compute time; ``on_chunk(explanation, tokens, start)`` sees every chunk's raw
    explanation (the integrated-gradients path included) before it is reduced.
    """
    if not names:
        return {}
    device = ctx.torch_device
    length = ids.shape[1]
    reading = aggregations(names, {"method_options": method_options or {}})
    batches: dict = {}

    def make_batch(start, stop):
        tokens = trim_padding(ids[start:stop]) if trim else ids[start:stop]
        batches[start] = tokens
        return tokens.to(device), classes[start:stop].to(device)

    def reduce(explanation, start, stop):
        tokens = batches[start]
        if on_chunk is not None:
            on_chunk(explanation, tokens, start)
        return [word_samples(explanation, tokens, length, reading[explanation.method])]

    got = explain_chunks(SoftmaxScore(model), len(ids), make_batch, list(names), settings, M=int(M),
                         seed=lambda k: ctx.child(k).seed, chunk=int(chunk), method_options=method_options,
                         label=label, seconds=seconds, reduce=reduce)
    return {name: value if isinstance(value, NotApplicable) else Explanation.cat(value) for name, value in got.items()}


def per_word(explanations: Mapping) -> dict[str, torch.Tensor]:
    """``{name: (R, n, T)}`` kept word scores: the mean over the samples (``R = 1``), or every order
    of an explanation whose samples are orders (the random floor)."""
    return {name: e.samples if e.each_sample_is_an_order else e.samples.mean(0, keepdim=True)
            for name, e in usable(explanations).items()}
