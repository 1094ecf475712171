"""Deletion and insertion curves over words (the project's one faithfulness metric with the word
unit of :mod:`.words`) for every method of ``text.faithfulness.methods``.

A word is removed by replacing its token with padding (its embedding becomes the zero vector, the
integrated-gradients baseline, and it leaves the time average). Words are removed in the order of
each method's per-word score, highest first; the explained score is the softmax probability of
the class the classifier predicts on the intact review. Padding positions are not units.

A method the attribution study explained is read from its saved word scores; any other method
(the explanation mask, which needs the trained mask network; a user's own) is built here from
the same settings (the ``attribution`` section saved with the scores, plus the mask network) and
explains the same reviews. A method that cannot apply (Shapley sampling, which replaces input
features, at the embedding layer) goes to the skipped table with its reason.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ..methods import faithfulness_rows, skipped_rows
from .data import TextInputs
from .words import WORD, SoftmaxScore, build_methods, explain_words, method_settings, ranking_explanations, usable

__all__ = ["word_faithfulness_study"]


def _softmax(out: torch.Tensor) -> torch.Tensor:
    return torch.softmax(out.float(), -1)


def word_faithfulness_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Faithfulness of every method of ``cfg["methods"]`` over the attributed reviews.

    ``inputs``: the classifier, the cache, ``scores`` (what
    :func:`~xairepro.experiments.text.attributions.save_scores` wrote) and ``mask_net`` (or None);
    ``cfg``: ``methods``, ``steps``, ``max_fraction``, optional ``n_examples`` (the first reviews).
    Returns ``{"per_example"`` (the shared faithfulness schema), ``"skipped"`` (methods that did
    not apply, with the reason), ``"curves"``, ``"summary"`` (ranked)``}``.
    """
    saved = inputs.scores
    names = list(cfg["methods"])
    idx = saved["indices"].numpy()
    n = min(len(idx), int(cfg.get("n_examples") or len(idx)))
    idx, classes = idx[:n], saved["classes"][:n]
    ids = inputs.cache.test_ids[idx]
    device = ctx.torch_device
    model = inputs.model.to(device).eval()
    attribution = saved["attribution"]
    settings = method_settings(model, attribution, max_batch=ctx.max_batch, mask_net=inputs.mask_net)
    methods = build_methods(SoftmaxScore(model), [m for m in names if m not in saved["scores"]], settings,
                            attribution.get("method_options"))
    # not trimmed: the mask head's own GRU reads the padding positions too
    fresh = explain_words(usable(methods), ids, classes, M=int(attribution["mc_samples"]),
                          chunk=int(attribution["chunk"]), ctx=ctx, label="faithfulness chunks")
    scores = {**{m: s[:, :n] for m, s in saved["scores"].items()}, **fresh["scores"]}
    explanations = ranking_explanations(scores, {**saved["orders"], **fresh["orders"]}, names)
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    per_example, curves = faithfulness_study(
        model, list(ids), explanations, WORD, fractions=fractions, targets=classes.tolist(), score_fn=_softmax,
        aggregation="raw", max_batch=ctx.max_batch, example_ids=[int(i) for i in idx])
    meta = dict(experiment="text", modality="text", unit=WORD.name, model=inputs.model_name, replicate=0)
    return {"per_example": faithfulness_rows(per_example, **meta), "skipped": skipped_rows(methods, **meta),
            "curves": curves, "summary": faithfulness_summary(per_example)}
