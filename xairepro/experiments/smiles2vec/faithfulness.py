"""The leaderboard protocol over SMILES characters of the mask split's test molecules
(:func:`~xairepro.experiments.suite.faithfulness_suite`).

Every method of ``faithfulness.methods`` explains the molecules with the faithfulness section's
Explainer (:func:`~.settings.explainer`: the attribution study's settings, the section's own
``mc_samples`` and ``method_options``, readings included); characters are ranked as in the top-3
check (the ``attribution.ranking``, one for every method, through :class:`~.explain.RankedUnit`, after
each method's aggregation). A removed character becomes padding, whose embedding is zero (the
integrated-gradients baseline). The model is a regressor, so the explained score, which the curves
also read, is the size of its prediction's departure from the all-padding string's prediction,
``|f(x) - f(empty)|`` (:class:`~.settings.DepartureScore`): removing the characters a method ranks
first should shrink it fastest. Methods that cannot apply (Shapley sampling at the embedding layer;
the mask where none is trained) are listed with their reason.

SMILES2vec has dropout, so BayesGrad and BayesSmoothGrad run on the model itself (no dropout
variant). The model-randomisation check (``sanity_steps``) explains the randomised copies with the
same settings; the trained mask network is rewired to read the copy's embeddings
(:func:`~.mask.rewire_mask_net`). The suite's ``shown`` keeps, for a few test molecules, each sampled
method's per-character mean and standard deviation (BayesGrad's bars with their sd in the notebook),
read through the ranking like every suite table: the sampled methods are read squared, so their
character scores are non-negative and the ranking's ``abs`` leaves them as they are.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ...context import RunContext
from ..suite import FaithfulnessSpec, SuiteResult, faithfulness_suite
from .explain import RankedUnit
from .settings import DepartureScore, explainer, operator_units, unit

__all__ = ["EXPERIMENT", "MODALITY", "faithfulness_study"]

EXPERIMENT, MODALITY = "smiles2vec", "SMILES string"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """``inputs``: ``model``, ``mask_net`` (or ``None``), ``data``, ``model_name``, optionally ``replicate``
    (the model seed ``r``, default 0: every row carries it, and model ``r`` explains the split's test
    molecules ``r * n_examples`` to ``(r + 1) * n_examples - 1``, so the models share no molecule). ``cfg``: ``split``,
    ``attribution`` (``ranking``, ``baseline``) and ``faithfulness`` (methods, mc_samples,
    method_options, n_examples, steps, max_fraction, optionally ``sanity_steps`` (``all``: only the
    full randomisation; a list; ``[]``: 1, half and all layers; ``None``: none), ``uncertainty``
    (default true) and ``uncertainty_examples`` (molecules in the sd table, default 3))."""
    data, spec, attribution = inputs["data"], cfg["faithfulness"], cfg["attribution"]
    model = inputs["model"].to(ctx.torch_device).eval()
    replicate, n = int(inputs.get("replicate", 0)), int(spec["n_examples"])
    test = np.asarray(data.splits[cfg["split"]]["test"], dtype=int)
    if (replicate + 1) * n > len(test):
        raise ValueError(f"smiles2vec.faithfulness: model seed {replicate} needs test molecules up to "
                         f"{(replicate + 1) * n} (n_examples {n} per model) but the {cfg['split']} split has "
                         f"{len(test)}")
    test = test[replicate * n: (replicate + 1) * n]
    length = data.tokens.shape[1]
    # the attribution study's baseline embedding; samples, options and readings are the section's own
    section = dict(spec, **{k: attribution[k] for k in ("baseline",) if k in attribution})
    explain = explainer(model, section, ctx=ctx, mask_net=inputs["mask_net"],
                        score=lambda m: DepartureScore(m, length, data.pad_id))
    ranked = RankedUnit(unit(data.pad_id), attribution.get("ranking", "abs"))
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=ranked.name, model=inputs["model_name"],
                  replicate=replicate)

    def characters(example):
        return [data.vocab[int(t)] for t in example if int(t) != data.pad_id]

    suite = faithfulness_suite(explain, torch.as_tensor(data.tokens[test]),
                               FaithfulnessSpec.from_config(ranked, spec, ctx=ctx, operators=operator_units(
                                   data, spec, train=data.splits[cfg["split"]]["train"], seed=ctx.seed, base=ranked)),
                               labels=labels,
                               example_ids=[int(i) for i in test], shown=int(spec.get("uncertainty_examples", 3)),
                               unit_labels=characters)
    if suite.per_example.empty:
        raise ValueError(f"smiles2vec faithfulness: none of the methods {explain.methods} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))
    return suite
