"""The leaderboard protocol over the four measurements of the iris flowers
(:func:`~xairepro.experiments.suite.faithfulness_suite`), and the data-randomisation test.

Every method of ``faithfulness.methods`` explains the logit of each flower's true class with one
settings dict (:func:`~.importance.iris_settings`: the training mean as the baseline of integrated
gradients, input x gradient and occlusion, all flowers as the chimera Shapley background,
SmoothGrad's relative sigma). A feature is a :class:`~xairepro.evaluation.units.FeatureUnit`;
removing it sets it to its training mean, the same baseline. Features are ranked by the signed
attribution (the one that raises the class logit most first). The MLP has dropout (0.5), so the
MC-dropout methods run on the model itself; the explanation mask does not apply (no mask network
is trained for the MLP) and is listed with its reason. The suite adds the model-randomisation check
(``sanity_steps``), the informativeness of the sampled methods' per-feature spread and the seconds
per method; :func:`~..suite.unit_examples` keeps three flowers' per-feature mean and
sd of the sampled methods (the notebook's BayesGrad bars with their sd).

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
from ..graphs import sanity_steps
from ..methods import aggregations, applicable, explain, skipped_rows
from ..suite import SuiteTables, faithfulness_suite, unit_examples
from .data import IrisData
from .importance import iris_settings

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


def _settings(data: IrisData, cfg: Mapping, ctx: RunContext) -> dict:
    spec = cfg["faithfulness"]
    return iris_settings(data, dict(cfg["attribution"], **{k: spec[k] for k in ("ig_steps", "n_random")}), ctx=ctx)


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteTables:
    """``inputs``: ``model``, ``data``, ``model_name``. ``cfg``: the attribution section's settings
    (``attribution``: smoothgrad_noise, noise_mode) and ``faithfulness`` (methods, n_examples, steps,
    max_fraction, mc_samples, ig_steps, n_random, optionally method_options, sanity_steps (``all``,
    a list of top-layer counts, ``[]``: 1, half and all, ``None``: none), uncertainty,
    uncertainty_examples). Returns the suite's seven tables and ``unit_examples``."""
    data: IrisData = inputs["data"]
    spec = cfg["faithfulness"]
    model = inputs["model"].to(ctx.torch_device).eval()
    x, y = _inputs(data, spec["n_examples"], ctx)
    settings = _settings(data, cfg, ctx)
    names = list(spec["methods"])
    captured: dict = {}

    def explain_fn(m, seconds):
        results = explain(m, x, names, settings, M=int(spec["mc_samples"]), seed=ctx.seed, target=y,
                          method_options=spec.get("method_options"), seconds=seconds)
        if m is model:
            captured.update(results)
        return results

    unit = FeatureUnit(baseline=settings["baselines"].cpu())
    flowers = list(x.cpu())
    ids = list(range(len(flowers)))
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=FeatureUnit.name, model=inputs["model_name"],
                  replicate=0)
    read = aggregations(names, spec)
    suite = faithfulness_suite(model, flowers, unit, explain_fn, labels=labels,
                               fractions=np.linspace(0.0, float(spec["max_fraction"]), int(spec["steps"]) + 1),
                               targets=y.cpu().tolist(), aggregation=read, max_batch=ctx.max_batch, example_ids=ids,
                               sanity_steps=sanity_steps(model, spec.get("sanity_steps", [])), sanity_seed=ctx.seed,
                               uncertainty=bool(spec.get("uncertainty", True)))
    if suite.per_example.empty:
        raise ValueError(f"iris faithfulness: none of the methods {names} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))
    shown = unit_examples(applicable(captured), unit, flowers, ids, lambda _: list(data.features),
                          experiment=EXPERIMENT, model=inputs["model_name"], n=int(spec.get("uncertainty_examples", 3)),
                          aggregation=read)
    return SuiteTables(suite, shown)


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
    settings = _settings(data, cfg, ctx)
    names = list(spec["methods"])
    read = aggregations(names, spec)
    unit = FeatureUnit(baseline=settings["baselines"].cpu())
    flowers = list(x.cpu())
    scores = {}
    for key in ("model", "permuted"):
        model = inputs[key].to(ctx.torch_device).eval()
        results = explain(model, x, names, settings, M=int(spec["mc_samples"]), seed=ctx.seed, target=y,
                          method_options=spec.get("method_options"))
        scores[key] = {m: np.stack(e.units(unit, flowers, read[m])) for m, e in applicable(results).items()}
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
