"""What every SMILES2vec method is built from, and the Explainer of a SMILES2vec study section.

Methods explain the predicted log S at the character embeddings (``layer=model.embedding``), against
a zero baseline (the padding embedding); SmoothGrad's sigma is absolute on the embedding; the trained
mask network is the ``explanation_mask`` method, rewired to read the embeddings of whichever model is
explained (a randomised copy in the sanity check). The methods' own options (integrated gradients'
``n_steps``, SmoothGrad's ``stdevs``, the random orders' ``M``) and readings (``aggregation``) are the
section's ``method_options``. Molecules are explained in chunks small enough that the largest
replicated batch (``n_steps + 2`` path points, or ``M`` samples) fits ``max_batch``; chunk ``k`` draws
with ``ctx.child(k)``'s seed.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Optional, Sequence

import torch
from torch import nn

from ...context import RunContext
from ...evaluation.operators import bind_operators, symbol_frequencies
from ...evaluation.units import TokenUnit, Unit
from ..examples import example_labels, study_section
from ..explainer import Explainer
from .data import PAD, UNK
from .mask import SmilesMaskNet, rewire_mask_net

__all__ = ["CHARACTER", "DepartureScore", "ESOL_CHARACTERS", "EXAMPLE_SECTION", "OPERATORS", "TASK", "example_dataset",
           "example_explainer", "example_inputs", "example_mask_net", "example_model_kwargs",
           "example_targets", "explainer", "operator_units", "settings", "unit"]

#: The unit of every SMILES2vec reading (the faithfulness schema's ``unit``).
CHARACTER = "character"


def unit(pad_id: int) -> TokenUnit:
    """SMILES characters: the non-padding positions; a removed character becomes padding."""
    return TokenUnit(pad_id=int(pad_id), name=CHARACTER)


#: the removal operators of a character (:mod:`xairepro.evaluation.operators`): padding, a character
#: drawn from the training strings' characters (in distribution), the character deleted
OPERATORS = ("baseline", "draw", "delete")


def operator_units(data, cfg: Mapping, *, train, seed: int = 0, base: Optional[Unit] = None) -> dict[str, Unit]:
    """``{operator: character unit}`` of ``smiles2vec.faithfulness.operators`` (``cfg``: that section;
    default :data:`OPERATORS`) on ``base`` (default :func:`unit`; the faithfulness study's ranked unit),
    ``base`` itself as ``baseline``. ``data``: the featurized strings (``tokens``, ``vocab``, ``pad_id``),
    ``train``: the indices of the model's training strings (whose characters ``draw`` draws from,
    seeded with ``seed``); ``oov`` puts ``<unk>``."""
    names = list(cfg.get("operators") or OPERATORS)
    tokens = data.tokens[list(train)]
    statistics = {"seed": int(seed), "oov_id": data.vocab.index(UNK),
                  "frequencies": symbol_frequencies(tokens, len(data.vocab), exclude=[data.pad_id])}
    return bind_operators(unit(data.pad_id) if base is None else base, names, statistics,
                          key="smiles2vec.faithfulness.operators")


def settings(model, cfg: Mapping, *, mask_net=None, ctx: RunContext) -> dict:
    """The settings of every method explaining ``model``; ``cfg``: ``baseline`` (the embedding a
    character is compared with, default 0: the padding embedding). ``mask_net`` ``None`` makes
    ``explanation_mask`` not applicable; at the embedding layer no Shapley estimator applies."""
    return {"layer": model.embedding, "baselines": float(cfg.get("baseline", 0.0)), "noise_mode": "absolute",
            "mask_net": None if mask_net is None else rewire_mask_net(mask_net, model), "max_batch": ctx.max_batch,
            "cam_layer": getattr(model, "conv", None)}   # Grad-CAM's map: the convolution over the characters


class DepartureScore(nn.Module):
    """``|f(x) - f(empty)|``: the size of a regressor's departure from its prediction for the
    all-padding string (computed once, for the wrapped model). Removing the characters a method
    ranks first should shrink it fastest, whichever side of the empty prediction a molecule lies."""

    def __init__(self, model: nn.Module, length: int, pad_id: int):
        super().__init__()
        self.model = model
        device = next(model.parameters()).device
        with torch.no_grad():
            self.empty = float(model(torch.full((1, int(length)), int(pad_id), device=device)).view(-1)[0])

    def forward(self, tokens):
        return (self.model(tokens) - self.empty).abs()


def example_inputs(n: int, cfg: Mapping) -> torch.Tensor:
    """``n`` random character-id strings ``(n, max_len + 2 pad_len)`` of the smiles2vec section ``cfg``;
    the vocabulary comes from the featurized data (ESOL's has 35 entries), so the ids stay below 30."""
    data = cfg["data"]
    length = int(data["max_len"]) + 2 * int(data["pad_len"])
    return torch.randint(0, 30, (int(n), length), generator=torch.Generator().manual_seed(0))


def explainer(model, cfg: Mapping, *, ctx: RunContext, mask_net=None, methods: Optional[list] = None,
              score=None) -> Explainer:
    """The Explainer of a SMILES2vec section ``cfg`` (``methods`` unless given, ``mc_samples``: M of the
    sampling methods, ``method_options``, ``aggregation``: the default reading, ``baseline``) on
    ``model`` with the trained ``mask_net``; ``score(model)``: the explained score (default the
    prediction)."""
    options = cfg.get("method_options") or {}
    M = int(cfg["mc_samples"])
    n_steps = int(options.get("integrated_gradients", {}).get("n_steps", 0))
    return Explainer(model, list(cfg["methods"] if methods is None else methods),
                     settings=partial(settings, cfg=cfg, mask_net=mask_net, ctx=ctx), method_options=options, M=M,
                     aggregation=cfg.get("aggregation", "raw"), score=score,
                     chunk=max(1, ctx.max_batch // max(n_steps + 2, M)), device=ctx.torch_device,
                     seed=lambda k: ctx.child(k).seed)


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "regression"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "faithfulness"
#: the distinct characters of ESOL's canonical SMILES (sorted), which DeepChem's create_char_to_idx
#: finds; featurize_esol appends <pad> and <unk>
ESOL_CHARACTERS = "#()+-/1234567=BCFHINOPS[\\]clnors"


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved smiles2vec section ``cfg``: the faithfulness
    section over ``attribution.baseline`` (the faithfulness study's)."""
    return study_section(cfg, EXAMPLE_SECTION, shared=("baseline",))


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords training adds to a model spec (``train_smiles2vec``): ESOL's
    vocabulary size and padding id, one predicted log S."""
    vocab = sorted(ESOL_CHARACTERS) + [PAD, UNK]
    return {"vocab_size": len(vocab), "pad_id": vocab.index(PAD), "n_out": 1}


def example_mask_net(model, cfg: Mapping) -> SmilesMaskNet:
    """The mask network of the resolved smiles2vec section ``cfg`` (its ``mask``) around ``model``, untrained."""
    m = cfg["mask"]
    return SmilesMaskNet(model, hidden=int(m["hidden"]), n_layers=int(m["n_layers"]),
                         kernel_size=int(m["kernel_size"]), l1=float(m["l1"]), l2=float(m["l2"]))


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` (with ``mask_net``) with the section the faithfulness
    study reads of the resolved smiles2vec section ``cfg``."""
    return explainer(model, example_section(cfg), ctx=ctx, mask_net=mask_net, methods=list(methods))


def example_dataset(n: int, cfg: Mapping) -> torch.utils.data.TensorDataset:
    """``n`` labelled training examples of the resolved smiles2vec section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` and random log S labels."""
    return torch.utils.data.TensorDataset(example_inputs(n, cfg), example_labels(n, TASK))


def example_targets(n: int, cfg: Mapping):
    """The explained output of each of ``n`` :func:`example_inputs`: the model's one score (``None``)."""
    return None
