"""The leaderboard protocol over SMILES characters of the mask split's test molecules
(:func:`~xairepro.experiments.suite.faithfulness_suite`).

Every method of ``faithfulness.methods`` explains the molecules with the attribution study's
settings (:func:`~.explain.character_results`); characters are ranked as in the top-3 check (the
``attribution.ranking``, one for every method, through :class:`~.explain.RankedUnit`, after each
method's aggregation, the suite's ``aggregation=`` mapping). A removed character becomes padding,
whose embedding is zero (the integrated-gradients baseline). The model is a regressor, so the
explained score is the size of its prediction's departure from the all-padding string's
prediction, ``|f(x) - f(empty)|`` (the suite's ``score_fn``): removing the characters a method
ranks first should shrink it fastest. Methods that cannot apply (Shapley sampling at the embedding
layer; the mask where none is trained) are listed with their reason.

SMILES2vec has dropout, so BayesGrad and BayesSmoothGrad run on the model itself (no dropout
variant). The model-randomisation check (``sanity_steps``) explains the randomised copies with the
same settings; the trained mask network is rewired to read the copy's embeddings
(:func:`~.mask.rewire_mask_net`). :func:`~..suite.unit_examples` keeps, for a few test molecules,
each sampled method's per-character mean and standard deviation, signed, before the ranking
(BayesGrad's bars with their sd in the notebook).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ...context import RunContext
from ..graphs import sanity_steps
from ..methods import applicable
from ..suite import SuiteTables, faithfulness_suite, unit_examples
from .explain import RankedUnit, character_results, character_unit, reading_options
from .mask import rewire_mask_net

__all__ = ["EXPERIMENT", "MODALITY", "faithfulness_study"]

EXPERIMENT, MODALITY = "smiles2vec", "SMILES string"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteTables:
    """``inputs``: ``model``, ``mask_net`` (or ``None``), ``data``, ``model_name``. ``cfg``: ``split``,
    ``attribution`` (settings and reading) and ``faithfulness`` (methods, n_examples, steps,
    max_fraction, n_random, optionally ``sanity_steps`` (``all``: only the full randomisation; a
    list; ``[]``: 1, half and all layers; ``None``: none), ``uncertainty`` (default true) and
    ``uncertainty_examples`` (molecules in the sd table, default 3))."""
    data, spec, attribution = inputs["data"], cfg["faithfulness"], cfg["attribution"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    mask_net = inputs["mask_net"]
    test = np.asarray(data.splits[cfg["split"]]["test"], dtype=int)[: int(spec["n_examples"])]
    names = list(spec["methods"])
    tokens = data.tokens[test]
    captured: dict = {}

    def explain_fn(m, seconds):
        net = None if mask_net is None else rewire_mask_net(mask_net, m)
        results = character_results(m, net, tokens, names, attribution, ctx=ctx, n_random=int(spec["n_random"]),
                                    seconds=seconds)
        if m is model:
            captured.update(results)
        return results

    unit = RankedUnit(character_unit(data), attribution.get("ranking", "abs"))
    examples = [torch.as_tensor(data.tokens[i]) for i in test]
    with torch.no_grad():
        empty = float(model(torch.full((1, data.tokens.shape[1]), data.pad_id, device=device)).view(-1)[0])
    _, read = reading_options(attribution, names)
    ids = [int(i) for i in test]
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=unit.name, model=inputs["model_name"], replicate=0)
    suite = faithfulness_suite(model, examples, unit, explain_fn, labels=labels,
                               fractions=np.linspace(0.0, float(spec["max_fraction"]), int(spec["steps"]) + 1),
                               score_fn=lambda out: (out - empty).abs(), aggregation=read, max_batch=ctx.max_batch,
                               example_ids=ids, sanity_steps=sanity_steps(model, spec.get("sanity_steps", [])),
                               sanity_seed=ctx.seed, uncertainty=bool(spec.get("uncertainty", True)))
    if suite.per_example.empty:
        raise ValueError(f"smiles2vec faithfulness: none of the methods {names} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))

    def characters(example):
        return [data.vocab[int(t)] for t in example if int(t) != data.pad_id]

    shown = unit_examples(applicable(captured), character_unit(data), examples, ids, characters, experiment=EXPERIMENT,
                          model=inputs["model_name"], n=int(spec.get("uncertainty_examples", 3)), aggregation=read)
    return SuiteTables(suite, shown)
