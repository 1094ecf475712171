"""How the text studies read a word's score from an explanation of the token embeddings.

A word's score is the attribution summed over its embedding channels (the unit ``word``,
:data:`.settings.UNIT`). :func:`word_samples` is the explainer's per-chunk ``reduce``: it sums each
chunk's samples over the channels as soon as they are made, and what is kept is one
:class:`~xairepro.attribution.Explanation` per method whose samples are the per-position word scores
``(M, n, T)`` (0 at padding), which every reading of the project takes as it is (``units``,
``unit_spread``: the sum over channels is linear, so the mean and the spread of a word's score over
the samples are those of the raw samples). A method's own elementwise reading
(``method_options.<name>.aggregation``: ``abs``, ``square``) is applied before the sum, and the
reduced scores are then read ``raw``.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

import torch
import torch.nn.functional as F

from ...attribution import Explanation
from ..explainer import applicable
from .data import PAD_ID

__all__ = ["per_word", "trim_padding", "word_samples"]


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


def per_word(explanations: Mapping) -> dict[str, torch.Tensor]:
    """``{name: (R, n, T)}`` kept word scores: the mean over the samples (``R = 1``), or every order
    of an explanation whose samples are orders (the random floor)."""
    return {name: e.samples if e.each_sample_is_an_order else e.samples.mean(0, keepdim=True)
            for name, e in applicable(explanations).items()}
