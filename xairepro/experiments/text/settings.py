"""What both IMDB studies (:mod:`.attributions`, :mod:`.faithfulness`) explain the classifier with:
the word unit, the settings every method is built from, and the
:class:`~xairepro.experiments.explainer.Explainer` of the ``text.attribution`` section.

Every method named in the config is built from ONE settings dict (:func:`settings`): at the token
embeddings (``layer=model.embedding``), from the zero embedding (``baselines=0``, the padding
embedding), the gradient methods read as ``gradient . embedding`` (``multiply_by_inputs``: the
derivative of the score with respect to a weight that scales the word's embedding, at weight 1),
integrated gradients with the trapezoid rule (``method_options.integrated_gradients``: ``n_steps``
doubling until the median completeness error of a chunk is within ``completeness_tol``, at most
``max_steps``), occlusion of one word at a time (``"rows"``), the trained mask for
``explanation_mask``. Every method explains the softmax probability of the class the classifier
predicts (:class:`~xairepro.attribution.SoftmaxScore`, ``target=`` per review), as the
counterfactuals paper explains softmax scores. A method that cannot apply (Shapley sampling at a
layer, the mask where none is trained) comes back as
:class:`~xairepro.experiments.explainer.NotApplicable` with its reason.

The explainer reduces each chunk's samples to per-position word scores as soon as they are made
(``reduce=``: :func:`~.words.word_samples`), so the raw samples of a full-scale run (500 reviews x
500 tokens x 100 channels x M = 64: 6 GB per method) never exist at once; chunk ``k`` draws with
seed ``ctx.child(k).seed``, and a packed GRU's chunks are cut after their longest review.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import torch
from torch import nn

from ...attribution import SoftmaxScore
from ...context import RunContext
from ...evaluation.operators import bind_operators
from ...evaluation.units import Unit
from ..examples import example_labels, study_section
from ..explainer import Explainer, slice_batches
from .data import OOV_ID, PAD_ID, UNIT  # noqa: F401 (UNIT: the studies' unit, defined with the data)
from .words import trim_padding, word_samples

__all__ = ["EXAMPLE_SECTION", "OPERATORS", "TASK", "UNIT", "example_dataset", "example_explainer", "example_inputs",
           "example_mask_net", "example_model_kwargs", "example_section", "example_targets", "explainer",
           "operator_units", "settings", "trimmed_batches"]


#: the removal operators of a word (:mod:`xairepro.evaluation.operators`): padding, the
#: out-of-vocabulary token, the word deleted (the review gets shorter: in distribution)
OPERATORS = ("baseline", "oov", "delete")


def operator_units(cfg: Mapping) -> dict[str, Unit]:
    """``{operator: word unit}`` of ``text.faithfulness.operators`` (``cfg``: that section; default
    :data:`OPERATORS`), :data:`UNIT` (padding) as ``baseline``."""
    return bind_operators(UNIT, list(cfg.get("operators") or OPERATORS), {"oov_id": OOV_ID},
                          key="text.faithfulness.operators")


def settings(model: nn.Module, cfg: Mapping, *, max_batch: int, mask_net=None, keep_grads: bool = True) -> dict:
    """The one settings dict of the text experiment on ``model`` (``cfg`` is not read: every
    configured option is a method option). ``mask_net``: the trained mask network; around another
    model than the one it reads (a randomised copy of the classifier) the same trained head is rebuilt
    to read that model. ``keep_grads``: keep integrated gradients' interior gradients (the saturation
    path needs them; the faithfulness study does not, and at full scale they are the largest tensor
    of a chunk)."""
    if mask_net is not None and mask_net.model is not model:
        mask_net = mask_net.around(model)
    return {"layer": model.embedding, "baselines": 0.0, "multiply_by_inputs": True, "method": "trapezoid",
            "keep_grads": bool(keep_grads), "sliding_window_shapes": "rows", "max_batch": int(max_batch),
            "mask_net": mask_net}


def trimmed_batches(inputs: torch.Tensor, start: int, stop: int, target):
    """One chunk of reviews cut after its longest review (for a GRU that ignores trailing padding)."""
    tokens, target = slice_batches(inputs, start, stop, target)
    return trim_padding(tokens), target


def explainer(model: nn.Module, cfg: Mapping, *, ctx: RunContext, length: int, methods: Optional[Sequence[str]] = None,
              mask_net=None, keep_grads: bool = True, on_chunk: Optional[Callable] = None,
              label: str = "attribution chunks") -> Explainer:
    """The explainer of ``methods`` (default ``cfg["methods"]``) from the ``text.attribution`` section
    ``cfg`` (``mc_samples``: M of the sampling methods, ``chunk``: reviews per call, ``method_options``).

    Its explanations hold per-position word scores ``(M, n, length)`` (``length``: the reviews'
    padded length; 0 at padding; ``M`` = 1 for the deterministic methods, the number of orders for
    the random floor), read ``raw`` by the studies (a method's own reading is applied before the sum
    over channels). ``on_chunk(explanation, tokens, start)`` sees every chunk's raw explanation (the
    integrated-gradients path included) before it is reduced."""

    def reduce(explanation, tokens, start, reading):
        if on_chunk is not None:
            on_chunk(explanation, tokens, start)
        return word_samples(explanation, tokens, int(length), reading)

    return Explainer(model, list(cfg["methods"] if methods is None else methods),
                     settings=lambda m: settings(m, cfg, max_batch=ctx.max_batch, mask_net=mask_net,
                                                 keep_grads=keep_grads),
                     method_options=cfg.get("method_options") or {}, M=int(cfg["mc_samples"]), score=SoftmaxScore,
                     chunk=int(cfg["chunk"]),
                     batches=trimmed_batches if getattr(model, "packed", False) else slice_batches,
                     device=ctx.torch_device, seed=lambda k: ctx.child(k).seed, reduce=reduce, label=label)


def example_inputs(n: int, cfg: Mapping, *, seed: int = 0) -> torch.Tensor:
    """``n`` random reviews of the resolved ``text`` section's shape: ``(n, data.max_len)`` token ids
    of the vocabulary (``data.vocab_size`` words, padding and out-of-vocabulary), each of a random
    length of at least one word, right-padded as the cache holds them."""
    max_len, vocab = int(cfg["data"]["max_len"]), int(cfg["data"]["vocab_size"])
    gen = torch.Generator().manual_seed(int(seed))
    ids = torch.randint(OOV_ID, vocab + 2, (int(n), max_len), generator=gen)
    lengths = torch.randint(1, max_len + 1, (int(n), 1), generator=gen)
    return ids.masked_fill(torch.arange(max_len).view(1, -1) >= lengths, PAD_ID)


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "multiclass"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "attribution"


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved text section ``cfg``: ``text.attribution``,
    which both text studies read."""
    return study_section(cfg, EXAMPLE_SECTION)


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords training adds to a model spec (``classifier_kwargs``): the cache's
    vocabulary, ``data.vocab_size`` most frequent words + padding + out-of-vocabulary, and the padding id."""
    return {"vocab_size": int(cfg["data"]["vocab_size"]) + 2, "padding_idx": PAD_ID}


def example_mask_net(model, cfg: Mapping):
    """The mask network of the resolved text section ``cfg`` around ``model`` (its ``mask.head`` on the
    BiGRU's outputs, the first of ``mask.readings``: the explained ``explanation_mask``), untrained."""
    from ...models import build_model
    from .masks import build_mask_net

    m, spec = cfg["mask"], dict(cfg["mask"]["head"])
    head = build_model(spec.pop("arch"), **spec, in_dim=2 * model.gru.hidden_size)
    reading, weights = next(iter(m["readings"].items()))
    return build_mask_net(reading, model, head, length=int(cfg["data"]["max_len"]), **weights)


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with ``text.attribution`` of the resolved text section
    ``cfg``, for reviews of ``data.max_len`` tokens (:func:`example_inputs`)."""
    return explainer(model, example_section(cfg), ctx=ctx, length=int(cfg["data"]["max_len"]),
                     methods=methods, mask_net=mask_net)


def example_dataset(n: int, cfg: Mapping) -> torch.utils.data.TensorDataset:
    """``n`` labelled training examples of the resolved text section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` and random sentiment labels."""
    return torch.utils.data.TensorDataset(example_inputs(n, cfg), example_labels(n, TASK))


def example_targets(n: int, cfg: Mapping):
    """The explained output of each of ``n`` :func:`example_inputs`: random sentiments (seeded with ``n``)."""
    return example_labels(n, TASK)
