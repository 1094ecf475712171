"""Word scores of any registered attribution method on IMDB reviews: the one way both text studies
(:mod:`.attributions`, :mod:`.faithfulness`) explain the classifier.

Every method named in the config is built once (:func:`build_methods`) from ONE settings dict
(:func:`method_settings`): at the token embeddings (``layer=model.embedding``), from the zero
embedding (``baselines=0``, the padding embedding), the gradient methods read as
``gradient . embedding`` (``multiply_by_inputs``: the derivative of the score with respect to a
weight that scales the word's embedding, at weight 1), integrated gradients with the trapezoid
rule and ``n_steps`` doubling until the median completeness error of a chunk is within
``completeness_tol`` (at most ``max_steps``), occlusion of one word at a time (``"rows"``), the
trained mask for ``explanation_mask``. Every method explains the softmax probability of the
class the classifier predicts (``target=`` per call), as the counterfactuals paper explains
softmax scores. A method that cannot apply (Shapley sampling at a layer, the mask where none is
trained) comes back as :class:`~xairepro.experiments.methods.NotApplicable` with its reason.

A word's score is the attribution summed over its embedding channels (``TokenUnit`` named
``word``). Right-padded reviews put their words at positions ``0..n_words-1``, so per-word and
per-position scores are the same numbers; they are kept per position, ``(R, n, T)`` per method,
``R = 1`` (the mean over the samples) or, for a method whose samples are orders (the random
floor), one row per order.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import nn

from ...attribution import Explanation, MethodNotApplicable, create_method
from ...context import RunContext
from ...evaluation.units import TokenUnit
from ...progress import progress
from ..methods import NotApplicable
from .data import PAD_ID

__all__ = ["WORD", "SoftmaxScore", "build_methods", "explain_words", "method_settings", "ranking_explanations",
           "trim_padding", "usable", "word_rankings"]

#: the unit of both text studies: a word, removed by replacing its token with padding
WORD = TokenUnit(pad_id=PAD_ID, name="word")


class SoftmaxScore(nn.Module):
    """The classifier with a softmax on top: the score every method explains."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return torch.softmax(self.model(tokens).float(), -1)


def method_settings(model: nn.Module, cfg: Mapping, *, max_batch: int, mask_net=None) -> dict:
    """The one settings dict of the text experiment, from its ``attribution`` section; every method
    takes the options it accepts (:func:`xairepro.attribution.create_method`)."""
    return {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True,
            "stdevs": float(cfg["smoothgrad_noise"]), "n_steps": int(cfg["ig_steps"]), "method": "trapezoid",
            "completeness_tol": float(cfg["completeness_tol"]), "max_steps": int(cfg["ig_max_steps"]),
            "sliding_window_shapes": "rows", "n_random": int(cfg["n_random"]), "max_batch": int(max_batch),
            "mask_net": mask_net}


def build_methods(model, names: Sequence[str], settings: Mapping, method_options: Optional[Mapping] = None) -> dict:
    """``{name: method | NotApplicable}``, each method built once (``method_options``:
    ``{name: {option: value}}`` over ``settings``)."""
    out = {}
    for name in names:
        try:
            out[name] = create_method(name, model, settings, **dict((method_options or {}).get(name, {})))
        except MethodNotApplicable as err:
            out[name] = NotApplicable(name, str(err).split(": ", 1)[-1])
    return out


def usable(methods: Mapping) -> dict:
    """The methods of :func:`build_methods` that apply."""
    return {k: v for k, v in methods.items() if not isinstance(v, NotApplicable)}


def trim_padding(ids: torch.Tensor) -> torch.Tensor:
    """The columns up to the batch's longest review (at least one)."""
    last = int(((ids != PAD_ID).long() * torch.arange(1, ids.shape[1] + 1)).amax())
    return ids[:, : max(last, 1)]


def word_rankings(explanation: Explanation, reviews: Sequence[torch.Tensor]) -> list[np.ndarray]:
    """Per review, ``(R, n_words)`` word scores to rank by: one row, the mean over the samples
    (``explanation.units``), or one row per sample for an explanation whose samples are orders."""
    if explanation.each_sample_is_an_order:
        return explanation.unit_samples(WORD, reviews, "raw")
    return [u[None] for u in explanation.units(WORD, reviews, "raw")]


def explain_words(methods: Mapping, ids: torch.Tensor, classes: torch.Tensor, *, M: int, chunk: int,
                  ctx: RunContext, trim: bool = False, seconds: Optional[dict] = None,
                  on_chunk: Optional[Callable] = None, label: str = "attribution chunks") -> dict:
    """Every method of ``methods`` (built, see :func:`build_methods`) on the reviews ``ids`` (n, T)
    explaining ``classes``, in chunks of ``chunk`` reviews (``trim``: each chunk cut after its
    longest review, for a classifier that ignores trailing padding).

    Each chunk's explanations are reduced to words as soon as they are made (the samples of every
    review at once need not fit in memory); ``on_chunk(k, tokens, {name: Explanation})`` sees them
    first. ``seconds`` accumulates each method's compute time. Chunk ``k`` draws with seed
    ``ctx.child(k).seed``. Returns ``{"scores": {name: (R, n, T) float32}, "orders": {name: bool}}``.
    """
    device = ctx.torch_device
    n, t_max = ids.shape
    per_review: dict[str, list] = {name: [] for name in methods}
    orders: dict[str, bool] = {}
    for k, start in enumerate(progress(range(0, n, chunk), label, unit="chunk")):
        stop = min(n, start + int(chunk))
        tokens = trim_padding(ids[start:stop]) if trim else ids[start:stop]
        tokens, target = tokens.to(device), classes[start:stop].to(device)
        got = {}
        for name, method in methods.items():
            t0 = time.perf_counter()
            got[name] = method.compute(tokens, M=M, target=target, seed=ctx.child(k).seed)
            if seconds is not None:
                seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t0
        if on_chunk is not None:
            on_chunk(k, tokens, got)
        reviews = list(tokens.cpu())
        for name, explanation in got.items():
            per_review[name] += word_rankings(explanation.cpu(), reviews)
            orders[name] = bool(explanation.each_sample_is_an_order)
    scores = {}
    for name, rows in per_review.items():
        out = torch.zeros(max((r.shape[0] for r in rows), default=1), n, t_max)
        for i, r in enumerate(rows):
            out[: r.shape[0], i, WORD.positions(ids[i])] = torch.as_tensor(r, dtype=torch.float32)
        scores[name] = out
    return {"scores": scores, "orders": orders}


def ranking_explanations(scores: Mapping, orders: Mapping, names: Sequence[str]) -> dict[str, Explanation]:
    """The kept word scores of ``names`` (those present) as explanations of the per-position
    scores, for the faithfulness metric (``Explanation.units(WORD, ...)`` gives them back)."""
    return {name: Explanation(method=name, samples=scores[name], each_sample_is_an_order=bool(orders[name]))
            for name in names if name in scores}
