"""The leaderboard protocol over words (:func:`~xairepro.experiments.suite.faithfulness_suite`) for
every method of ``text.faithfulness.methods``: deletion and insertion curves, the methods that did
not apply with their reason, the model-parameter randomisation check, the informativeness of the
sampled methods' per-word spread, and the seconds of each method.

A word is removed by replacing its token with padding (its embedding becomes the zero vector, the
integrated-gradients baseline, and it leaves the time average). Words are removed in the order of
each method's per-word score, highest first; the explained score is the softmax probability of
the class the classifier predicts on the intact review. Padding positions are not units.

The BiGRU's word dropout is a dropout module (it drops whole words), so the MC-dropout methods
(``bayesgrad``, ``bayes_smoothgrad``) sample it directly: the main model is their model, and no
dropout variant is trained.

Every method is built on the model the suite gives (:func:`~.words.explain_reviews`, the word
scores reduced per chunk so that the raw samples of a full-scale run never exist at once): for the
trained model, the methods the attribution study already explained are read from its saved
samples (the same reviews, chunks and seeds; their seconds are that study's), the others (the
explanation mask, a user's own) explained here; every randomised copy is explained from scratch,
the explanation mask by the same trained head reading the randomised classifier. A method that
cannot apply (Shapley sampling, which replaces input features, at the embedding layer) goes to the
skipped table with its reason.

The mask readings (:mod:`.masks`): ``explanation_mask`` of the main model uses the first reading's
mask network (seed 0); every further reading is a model variant labelled
``<model>+<reading>_mask`` (:func:`~.masks.variant_label`) whose tables hold that reading's
``explanation_mask`` and the random floor on the same reviews.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ...context import RunContext
from ...evaluation.sanity import parameter_layers
from ..suite import SuiteResult, faithfulness_suite
from .attributions import saved_explanations
from .data import TextInputs
from .masks import TextMaskNet, build_mask_net, variant_label
from .words import WORD, explain_reviews, method_settings

__all__ = ["MODALITY", "sanity_steps", "word_faithfulness_study"]

MODALITY = "text"
FLOOR = "random"


def _softmax(out: torch.Tensor) -> torch.Tensor:
    return torch.softmax(out.float(), -1)


def sanity_steps(model, value=()):
    """``cfg['sanity_steps']`` as the suite takes it: ``"all"``: only the full randomisation (every
    parameter layer re-initialised: embedding, GRU, dense, output); a list of layer counts as given
    (``[]``: the suite's cascade 1, half and all layers); ``None``: no check."""
    if value == "all":
        return [len(parameter_layers(model))]
    return None if value is None else list(value)


def _rebuilt(mask_net, model):
    """The trained mask head reading ``model`` (a randomised copy of the classifier)."""
    if mask_net is None or mask_net.model is model:
        return mask_net
    return build_mask_net(mask_net.reading, model, mask_net.head, entropy=mask_net.entropy,
                          sparsity=mask_net.sparsity, length=mask_net.length).eval()


def _suite(inputs: TextInputs, cfg: Mapping, names, mask_net: TextMaskNet | None, model_label: str, *,
           ctx: RunContext, reuse: tuple = ()) -> SuiteResult:
    attribution = inputs.scores["attribution"]
    idx = inputs.scores["indices"].numpy()
    n = min(len(idx), int(cfg.get("n_examples") or len(idx)))
    idx, classes = idx[:n], inputs.scores["classes"][:n]
    ids = inputs.cache.test_ids[idx]
    device = ctx.torch_device
    model = inputs.model.to(device).eval()
    trim = bool(getattr(model, "packed", False))
    options = attribution.get("method_options")
    saved = {k: v for k, v in saved_explanations(inputs.scores, n).items() if k in names and k in reuse}

    def explain_fn(m, seconds):
        reused = saved if m is model else {}
        for k in reused:
            seconds[k] = seconds.get(k, 0.0) + float(inputs.scores["seconds"].get(k, float("nan")))
        settings = method_settings(m, attribution, max_batch=ctx.max_batch, mask_net=_rebuilt(mask_net, m),
                                   keep_grads=False)
        fresh = explain_reviews(m, ids, classes, [k for k in names if k not in reused], settings,
                                M=int(attribution["mc_samples"]), chunk=int(attribution["chunk"]), ctx=ctx,
                                method_options=options, trim=trim, seconds=seconds, label="faithfulness chunks")
        return {k: reused[k] if k in reused else fresh[k] for k in names}

    labels = dict(experiment="text", modality=MODALITY, unit=WORD.name, model=model_label, replicate=0)
    return faithfulness_suite(model, list(ids), WORD, explain_fn, labels=labels,
                              fractions=np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1),
                              targets=classes.tolist(), score_fn=_softmax, aggregation="raw",
                              max_batch=ctx.max_batch, example_ids=[int(i) for i in idx],
                              sanity_steps=sanity_steps(model, cfg.get("sanity_steps", [])), sanity_seed=ctx.seed,
                              uncertainty=bool(cfg.get("uncertainty", True)))


def word_faithfulness_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """Every table of the protocol over the attributed reviews.

    ``inputs``: the classifier, the cache, ``scores`` (what
    :func:`~xairepro.experiments.text.attributions.save_scores` wrote), ``mask_nets`` (``{reading:
    trained mask net}``, the first reading the paper's ``explanation_mask``; empty: the mask does not
    apply) and ``model_name``. ``cfg``: ``methods``, ``steps``, ``max_fraction``, optional
    ``n_examples`` (the first reviews), ``sanity_steps`` (:func:`sanity_steps`), ``uncertainty``.
    Every table carries the labels (experiment ``text``, modality ``text``, unit ``word``, the model
    or its mask-reading variant, replicate 0); the summary ranks the methods of each model label.
    """
    names = list(cfg["methods"])
    masks = dict(inputs.mask_nets or {})
    readings = list(masks)
    saved = tuple(inputs.scores["samples"])
    first = masks[readings[0]] if readings else None
    results = [_suite(inputs, cfg, names, first, inputs.model_name, ctx=ctx, reuse=saved)]
    variant_names = [m for m in ("explanation_mask", FLOOR) if m in names]
    if "explanation_mask" in names:
        for reading in readings[1:]:
            results.append(_suite(inputs, cfg, variant_names, masks[reading], variant_label(inputs.model_name, reading),
                                  ctx=ctx, reuse=saved))
    return SuiteResult.concat(results)
