"""Deletion/insertion faithfulness over SMILES characters of the mask split's test molecules.

Every method of ``faithfulness.methods`` explains the molecules with the attribution study's
settings (:func:`~.explain.settings`); characters are ranked as in the top-3 check (the
``attribution.ranking``, one for every method, and each method's aggregation). A removed character
becomes padding, whose embedding is zero (the integrated-gradients baseline). The model is a
regressor, so the explained score is the size of its prediction's departure from the all-padding
string's prediction, ``|f(x) - f(empty)|``: removing the characters a method ranks first should
shrink it fastest. Methods that cannot apply (Shapley sampling at the embedding layer; the mask
where none is trained) are listed with their reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation import faithfulness as metric
from ..methods import applicable, faithfulness_rows, skipped_rows
from .explain import RankedUnit, character_results, character_unit, reading_options

__all__ = ["EXPERIMENT", "MODALITY", "SmilesFaithfulness", "faithfulness_study"]

EXPERIMENT, MODALITY = "smiles2vec", "SMILES string"


@dataclass
class SmilesFaithfulness:
    """``per_example`` in the shared schema (:data:`~xairepro.experiments.methods.FAITHFULNESS_COLUMNS`),
    the curves, the ranked summary and the methods that did not apply (``skipped``)."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SmilesFaithfulness:
    """``inputs``: ``model``, ``mask_net`` (or ``None``), ``data``, ``model_name``. ``cfg``: ``split``,
    ``attribution`` (settings and reading) and ``faithfulness`` (methods, n_examples, steps,
    max_fraction, n_random)."""
    data, spec, attribution = inputs["data"], cfg["faithfulness"], cfg["attribution"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    test = np.asarray(data.splits[cfg["split"]]["test"], dtype=int)[: int(spec["n_examples"])]
    names = list(spec["methods"])
    results = character_results(model, inputs["mask_net"], data.tokens[test], names, attribution, ctx=ctx,
                                n_random=int(spec["n_random"]))
    explanations = applicable(results)
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=character_unit(data).name,
                  model=inputs["model_name"], replicate=0)
    skipped = skipped_rows(results, **labels)
    if not explanations:
        raise ValueError(f"smiles2vec faithfulness: none of the methods {names} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(skipped["method"], skipped["reason"])))
    unit = RankedUnit(character_unit(data), attribution.get("ranking", "abs"))
    examples = [torch.as_tensor(data.tokens[i]) for i in test]
    with torch.no_grad():
        empty = float(model(torch.full((1, data.tokens.shape[1]), data.pad_id, device=device)).view(-1)[0])
    fractions = np.linspace(0.0, float(spec["max_fraction"]), int(spec["steps"]) + 1)
    _, read = reading_options(attribution, list(explanations))
    per_example, curves = [], []
    for aggregation in dict.fromkeys(read.values()):  # one metric call per reading, rows in config order
        group = {name: e for name, e in explanations.items() if read[name] == aggregation}
        pe, cu = metric.faithfulness_study(model, examples, group, unit, fractions=fractions,
                                           score_fn=lambda out: (out - empty).abs(), aggregation=aggregation,
                                           max_batch=ctx.max_batch, example_ids=[int(i) for i in test])
        per_example.append(pe)
        curves.append(cu)
    order = {name: k for k, name in enumerate(names)}
    per_example = pd.concat(per_example, ignore_index=True).sort_values(
        "method", key=lambda s: s.map(order), kind="stable", ignore_index=True)
    curves = pd.concat(curves, ignore_index=True).sort_values(
        "method", key=lambda s: s.map(order), kind="stable", ignore_index=True)
    return SmilesFaithfulness(faithfulness_rows(per_example, **labels), curves,
                              metric.faithfulness_summary(per_example), skipped)
