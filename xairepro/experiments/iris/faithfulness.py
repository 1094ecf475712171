"""The leaderboard protocol over the four measurements of the iris flowers
(:func:`~xairepro.experiments.suite.faithfulness_suite`), and the data-randomisation test.

Every method of ``faithfulness.methods`` explains the logit of each flower's true class with one
settings dict (:func:`~.settings.settings`: the training mean as the baseline of integrated
gradients, input x gradient and occlusion, all flowers as the chimera Shapley background,
SmoothGrad's relative sigma). A feature is a :class:`~xairepro.evaluation.units.FeatureUnit`;
removing it sets it to its training mean, the same baseline. Features are ranked by the signed
attribution (the one that raises the class logit most first). The MLP has dropout (0.5), so the
MC-dropout methods run on the model itself; the explanation mask does not apply (no mask network
is trained for the MLP) and is listed with its reason. The suite adds the model-randomisation check
(``sanity_steps``), the informativeness of the sampled methods' per-feature spread and the seconds
per method; the suite's ``shown`` keeps three flowers' per-feature mean and sd of the sampled
methods (the notebook's BayesGrad bars with their sd).

The data-randomisation test (Adebayo et al. 2018, :func:`data_randomisation_study`): the same MLP
retrained, with the same seed, on labels permuted by a seeded shuffle; every method explains both
models (the true class's logit of each flower), and per flower the Spearman correlation of the two
models' four feature scores is a row (mean below
:data:`~xairepro.evaluation.sanity.SANITY_THRESHOLD` passes). With four features a per-flower
Spearman takes few values, so the summary adds the correlation of the per-feature mean importance
(mean |attribution| over the flowers) of the two models.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.sanity import SANITY_THRESHOLD, rank_correlations, spearman
from ...evaluation.units import FeatureUnit
from ..explainer import applicable
from ..methods import skipped_rows
from ..suite import FaithfulnessSpec, SuiteResult, faithfulness_suite
from .data import IrisData
from .settings import explainer, operator_units, unit

__all__ = ["DATA_RANDOMISATION_COLUMNS", "EXPERIMENT", "MODALITY", "data_randomisation_study", "faithfulness_study"]

EXPERIMENT, MODALITY = "iris", "table"
#: Rows of the data-randomisation test (LEADERBOARD["data_randomisation"]).
DATA_RANDOMISATION_COLUMNS = ["experiment", "modality", "unit", "model", "replicate", "method", "example", "spearman"]


def _inputs(data: IrisData, n_examples: int, ctx: RunContext):
    n = min(int(n_examples), len(data.y))
    device = ctx.torch_device
    x = torch.as_tensor(data.x[:n], dtype=torch.float32, device=device)
    y = torch.as_tensor(data.y[:n], dtype=torch.long, device=device)
    return x, y


def _explainer(model, data: IrisData, cfg: Mapping, ctx: RunContext):
    return explainer(model, cfg["faithfulness"], ctx=ctx, data=data,
                     noise_mode=cfg["attribution"].get("noise_mode", "relative"))


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """``inputs``: ``model``, ``data``, ``model_name``, optionally ``replicate`` (the model seed, default
    0; every row carries it). ``cfg``: the attribution section's ``noise_mode``
    (``attribution``) and ``faithfulness`` (methods, n_examples, steps, max_fraction, mc_samples,
    method_options, optionally sanity_steps (``all``, a list of top-layer counts, ``[]``: 1, half and
    all, ``None``: none), uncertainty, uncertainty_examples). Returns the suite's seven tables and
    ``unit_examples``."""
    data: IrisData = inputs["data"]
    spec = cfg["faithfulness"]
    model = inputs["model"].to(ctx.torch_device).eval()
    x, y = _inputs(data, spec["n_examples"], ctx)
    explain = _explainer(model, data, cfg, ctx)
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=FeatureUnit.name, model=inputs["model_name"],
                  replicate=int(inputs.get("replicate", 0)))
    suite = faithfulness_suite(explain, x, FaithfulnessSpec.from_config(
                                   unit(data), spec, ctx=ctx, operators=operator_units(data, spec, seed=ctx.seed)), labels=labels,
                               target=y.cpu(), example_ids=list(range(len(x))),
                               shown=int(spec.get("uncertainty_examples", 3)),
                               unit_labels=lambda _: list(data.features))
    if suite.per_example.empty:
        raise ValueError(f"iris faithfulness: none of the methods {explain.methods} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))
    return suite


def data_randomisation_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict[str, pd.DataFrame]:
    """Every method of ``cfg['faithfulness']['methods']`` on the trained MLP and on the MLP trained on
    permuted labels (``inputs``: ``model``, ``permuted``, ``data``, ``model_name``; ``cfg`` as
    :func:`faithfulness_study`; both draw with ``ctx.seed``).

    Returns ``rows`` (:data:`DATA_RANDOMISATION_COLUMNS`: per method and flower, Spearman's rho of the
    two models' feature scores), ``summary`` (per method: the mean rho, pass = below
    :data:`~xairepro.evaluation.sanity.SANITY_THRESHOLD`, and Spearman's and Pearson's correlation
    of the two models' per-feature mean |score|) and ``skipped`` (methods that did not apply)."""
    data: IrisData = inputs["data"]
    spec = cfg["faithfulness"]
    x, y = _inputs(data, spec["n_examples"], ctx)
    unit_ = unit(data)
    flowers = list(x.cpu())
    scores = {}
    for key in ("model", "permuted"):
        explain = _explainer(inputs[key].to(ctx.torch_device).eval(), data, cfg, ctx)
        results = explain.explain(x, y)
        scores[key] = {m: np.stack(e.units(unit_, flowers, explain.reading(m))) for m, e in applicable(results).items()}
        if key == "model":
            labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=FeatureUnit.name, model=inputs["model_name"],
                          replicate=0)
            skipped = skipped_rows(results, **labels)
    rows, summary = [], []
    for method, trained in scores["model"].items():
        other = scores["permuted"][method]
        rho = rank_correlations(list(trained), list(other))
        rows += [{**labels, "method": method, "example": i, "spearman": float(r)} for i, r in enumerate(rho)]
        a, b = np.abs(trained).mean(0), np.abs(other).mean(0)
        mean_rho = float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")
        summary.append({"method": method, "mean_spearman": mean_rho, "n_flowers": int(np.isfinite(rho).sum()),
                        "data_randomisation": "pass" if mean_rho < SANITY_THRESHOLD else "fail",
                        "threshold": SANITY_THRESHOLD, "mean_importance_spearman": spearman(a, b),
                        "mean_importance_pearson": float(np.corrcoef(a, b)[0, 1]) if a.std() and b.std() else float("nan"),
                        "importance_trained": " ".join(f"{v:.3g}" for v in a),
                        "importance_permuted": " ".join(f"{v:.3g}" for v in b)})
    return {"rows": pd.DataFrame(rows, columns=DATA_RANDOMISATION_COLUMNS), "summary": pd.DataFrame(summary),
            "skipped": skipped}
