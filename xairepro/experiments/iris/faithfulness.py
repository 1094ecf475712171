"""Deletion/insertion faithfulness over the four measurements of the iris flowers.

Every method of ``faithfulness.methods`` explains the logit of each flower's true class with one
settings dict (:func:`~.importance.iris_settings`: the training mean as the baseline of integrated
gradients, input x gradient and occlusion, all flowers as the chimera Shapley background,
SmoothGrad's relative sigma). A feature is a :class:`~xairepro.evaluation.units.FeatureUnit`;
removing it sets it to its training mean, the same baseline. Features are ranked by the signed
attribution (the one that raises the class logit most first). The explanation mask does not apply
(no mask network is trained for the MLP) and is listed with its reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation import faithfulness as metric
from ...evaluation.units import FeatureUnit
from ..methods import applicable, explain, faithfulness_rows, skipped_rows
from .data import IrisData
from .importance import iris_settings

__all__ = ["EXPERIMENT", "MODALITY", "IrisFaithfulness", "faithfulness_study"]

EXPERIMENT, MODALITY = "iris", "table"


@dataclass
class IrisFaithfulness:
    """``per_example`` in the shared schema (:data:`~xairepro.experiments.methods.FAITHFULNESS_COLUMNS`),
    the curves, the ranked summary and the methods that did not apply (``skipped``)."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> IrisFaithfulness:
    """``inputs``: ``model``, ``data``, ``model_name``. ``cfg``: the attribution section's settings
    (``attribution``: smoothgrad_noise, noise_mode) and ``faithfulness`` (methods, n_examples, steps,
    max_fraction, mc_samples, ig_steps, n_random, optionally method_options)."""
    data: IrisData = inputs["data"]
    spec = cfg["faithfulness"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    n = min(int(spec["n_examples"]), len(data.y))
    x = torch.as_tensor(data.x[:n], dtype=torch.float32, device=device)
    y = torch.as_tensor(data.y[:n], dtype=torch.long, device=device)
    settings = iris_settings(data, dict(cfg["attribution"], **{k: spec[k] for k in ("ig_steps", "n_random")}), ctx=ctx)
    results = explain(model, x, list(spec["methods"]), settings, M=int(spec["mc_samples"]), seed=ctx.seed, target=y,
                      method_options=spec.get("method_options"))
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=FeatureUnit.name, model=inputs["model_name"],
                  replicate=0)
    explanations = applicable(results)
    skipped = skipped_rows(results, **labels)
    if not explanations:
        raise ValueError(f"iris faithfulness: none of the methods {list(spec['methods'])} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(skipped["method"], skipped["reason"])))
    unit = FeatureUnit(baseline=settings["baselines"].cpu())
    fractions = np.linspace(0.0, float(spec["max_fraction"]), int(spec["steps"]) + 1)
    per_example, curves = metric.faithfulness_study(model, list(x.cpu()), explanations, unit, fractions=fractions,
                                                    targets=y.cpu().tolist(), max_batch=ctx.max_batch)
    return IrisFaithfulness(faithfulness_rows(per_example, **labels), curves, metric.faithfulness_summary(per_example),
                            skipped)
