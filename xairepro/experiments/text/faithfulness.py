"""Deletion and insertion curves over words (the project's one faithfulness metric with
:class:`~xairepro.evaluation.units.TokenUnit`) for the word attributions and the explanation mask.

A word is removed by replacing its token with padding (its embedding becomes the zero vector, the
integrated-gradients baseline, and it leaves the time average). Words are removed in the order of
each method's per-word score, highest first; the explained score is the softmax probability of
the class the classifier predicts on the intact review. Padding positions are not units.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ...evaluation.units import TokenUnit
from .data import PAD_ID, TextCache
from .masks import TextMaskNet, mask_weights

__all__ = ["word_faithfulness", "DEFAULT_METHODS"]

DEFAULT_METHODS = ("ig", "gradient", "occlusion", "bayesgrad", "mask")


def _softmax(out: torch.Tensor) -> torch.Tensor:
    return torch.softmax(out.float(), -1)


def word_faithfulness(model, cache: TextCache, attributions: Mapping, mask_net: TextMaskNet | None, cfg: Mapping,
                      *, ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(per-example AOPC rows, curves, ranked summary)`` over the attributed reviews.

    ``attributions`` is what :func:`~xairepro.experiments.text.attributions.word_attributions`
    saved (``indices``, ``classes``, per-position ``scores``); ``cfg``: ``steps``, ``max_fraction``,
    ``n_random``, ``methods`` (``mask`` needs ``mask_net``), optional ``n_examples``.
    """
    methods = list(cfg.get("methods", DEFAULT_METHODS))
    idx = attributions["indices"].numpy()
    n = min(len(idx), int(cfg.get("n_examples") or len(idx)))
    idx, classes = idx[:n], attributions["classes"][:n].numpy()
    examples = [cache.test_ids[i] for i in idx]
    unknown = [m for m in methods if m != "mask" and m not in attributions["scores"]]
    if unknown:
        raise KeyError(f"text.faithfulness.methods: no attributions for {unknown}; "
                       f"have {sorted(attributions['scores'])} and 'mask'")
    per_position = {m: attributions["scores"][m][:n] for m in methods if m != "mask"}
    device = ctx.torch_device
    model = model.to(device).eval()
    if "mask" in methods:
        if mask_net is None:
            raise ValueError("text.faithfulness.methods lists 'mask' but no mask network was given")
        per_position["mask"] = mask_weights(mask_net.to(device), torch.stack(examples))[0]
    unit = TokenUnit(pad_id=PAD_ID)
    method_scores = {m: [unit.scores_at_units(ex, per_position[m][j].numpy()) for j, ex in enumerate(examples)]
                     for m in methods}
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    per_example, curves = faithfulness_study(
        model, examples, method_scores, unit, fractions=fractions, targets=classes.tolist(), score_fn=_softmax,
        n_random=int(cfg.get("n_random", 5)), seed=ctx.seed, max_batch=ctx.max_batch,
        example_ids=[int(i) for i in idx])
    return per_example, curves, faithfulness_summary(per_example)
