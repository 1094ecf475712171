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

Every method is built by the attribution study's explainer (:func:`.settings.explainer`, from the
``text.attribution`` section saved with its scores; the word scores reduced per chunk so that the
raw samples of a full-scale run never exist at once): for the trained model, the methods the
attribution study already explained are read from its saved samples (the suite's ``known``: the
same reviews, chunks and seeds; their seconds are that study's), the others (the explanation mask,
a user's own) explained here; every randomised copy is explained from scratch, the explanation mask
by the same trained head reading the randomised classifier. A method that
cannot apply (Shapley sampling, which replaces input features, at the embedding layer) goes to the
skipped table with its reason.

The mask readings (:mod:`.masks`): ``explanation_mask`` of the main model uses the first reading's
mask network (seed 0); every further reading is a model variant labelled
``<model>+<reading>_mask`` (:func:`~.masks.variant_label`) whose tables hold that reading's
``explanation_mask`` and the random floor on the same reviews.
"""
from __future__ import annotations

from typing import Mapping

import torch

from ...attribution import method_class
from ...context import RunContext
from ..explainer import Explanations
from ..suite import FaithfulnessSpec, SuiteResult, faithfulness_suite
from .attributions import saved_explanations
from .data import TextInputs, predicted_classes, select_reviews
from .masks import TextMaskNet, variant_label
from .settings import UNIT, explainer, operator_units

__all__ = ["MODALITY", "review_scores", "word_faithfulness_study"]

MODALITY = "text"


def review_scores(inputs: TextInputs, attribution: Mapping, n: int, *, ctx: RunContext) -> dict:
    """What the study reads of the attribution study's saved scores, for a classifier that study did not
    explain (a further model seed): ``n`` test reviews drawn with ``ctx.seed``
    (:func:`~.data.select_reviews`, as the attribution study draws its own), the classifier's predicted
    classes, the ``attribution`` config section the methods are built from, and no saved samples (every
    method is explained by the faithfulness study)."""
    idx = select_reviews(inputs.cache, int(n), ctx.seed)
    classes = predicted_classes(inputs.model.to(ctx.torch_device), inputs.cache.test_ids[idx])
    return {"indices": torch.as_tensor(idx), "classes": classes, "samples": {}, "orders": {}, "seconds": {},
            "attribution": dict(attribution)}


def _suite(inputs: TextInputs, cfg: Mapping, names, mask_net: TextMaskNet | None, model_label: str, *,
           ctx: RunContext, reuse: tuple = (), replicate: int = 0) -> SuiteResult:
    attribution = inputs.scores["attribution"]
    idx = inputs.scores["indices"].numpy()
    n = min(len(idx), int(cfg.get("n_examples") or len(idx)))
    idx, classes = idx[:n], inputs.scores["classes"][:n]
    ids = inputs.cache.test_ids[idx]
    model = inputs.model.to(ctx.torch_device).eval()
    saved = {k: v for k, v in saved_explanations(inputs.scores, n).items() if k in names and k in reuse}
    known = Explanations(saved, seconds={k: float(inputs.scores["seconds"].get(k, float("nan"))) for k in saved})
    explain = explainer(model, attribution, ctx=ctx, length=ids.shape[1], methods=names, mask_net=mask_net,
                        keep_grads=False, label="faithfulness chunks")
    labels = dict(experiment="text", modality=MODALITY, unit=UNIT.name, model=model_label,
                  replicate=int(replicate))
    return faithfulness_suite(explain, ids, FaithfulnessSpec.from_config(UNIT, cfg, ctx=ctx, operators=operator_units(cfg)), labels=labels,
                              target=classes, example_ids=[int(i) for i in idx], known=known)


def word_faithfulness_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext, replicate: int = 0) -> SuiteResult:
    """Every table of the protocol over the attributed reviews.

    ``inputs``: the classifier, the cache, ``scores`` (what
    :func:`~xairepro.experiments.text.attributions.save_scores` wrote), ``mask_nets`` (``{reading:
    trained mask net}``, the first reading the paper's ``explanation_mask``; empty: the mask does not
    apply) and ``model_name``; ``replicate``: the classifier's model seed (every row carries it).
    ``cfg``: ``methods``, ``steps``, ``max_fraction``, optional ``n_examples`` (the first reviews), ``sanity_steps``
    (:func:`~xairepro.evaluation.sanity.sanity_steps`), ``uncertainty``.
    Every table carries the labels (experiment ``text``, modality ``text``, unit ``word``, the model
    or its mask-reading variant, the replicate); the summary ranks the methods of each model label.
    """
    names = list(cfg["methods"])
    masks = dict(inputs.mask_nets or {})
    readings = list(masks)
    saved = tuple(inputs.scores["samples"])
    first = masks[readings[0]] if readings else None
    results = [_suite(inputs, cfg, names, first, inputs.model_name, ctx=ctx, reuse=saved, replicate=replicate)]
    # a variant's tables: its mask beside the floor (the random order) on the same reviews
    variant_names = [m for m in names if m == "explanation_mask"] + [m for m in names if method_class(m).is_floor]
    if "explanation_mask" in names:
        for reading in readings[1:]:
            results.append(_suite(inputs, cfg, variant_names, masks[reading], variant_label(inputs.model_name, reading),
                                  ctx=ctx, reuse=saved, replicate=replicate))
    return SuiteResult.concat(results)
