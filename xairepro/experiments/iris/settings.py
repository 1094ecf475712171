"""What every iris method is built from, and the Explainer of an iris study section.

The four measurements of a flower are the units (:func:`unit`: removing one sets it to its training
mean). Every method takes from :func:`settings` what it accepts: the training mean as the baseline
(integrated gradients, input x gradient, occlusion), all flowers as the chimera Shapley background,
SmoothGrad's noise relative to each flower's measurement range (the blog's ``GaussianNoiseSampler``,
``noise_mode``), and, for the blog's importance, the classification loss as the explained score
(``output_fn``). The options of the methods (SmoothGrad's ``stdevs``, integrated gradients'
``n_steps``, the random orders' ``M``) are the section's ``method_options``.
"""
from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Callable, Mapping, Optional, Sequence

import torch

from ...context import RunContext
from ...evaluation.operators import bind_operators
from ...evaluation.units import FeatureUnit, Unit
from ..examples import example_labels, study_section
from ..explainer import Explainer
from .data import IrisData

__all__ = ["EXAMPLE_SECTION", "N_CLASSES", "N_FEATURES", "OPERATORS", "TASK", "example_dataset",
           "example_explainer", "example_inputs", "example_model_kwargs", "example_section", "example_targets",
           "explainer", "operator_units", "settings", "unit"]

#: Sepal length and width, petal length and width (cm).
N_FEATURES = 4


def unit(data: IrisData) -> FeatureUnit:
    """A measurement; removing it sets it to its training mean (the methods' baseline)."""
    return FeatureUnit(baseline=torch.as_tensor(data.x, dtype=torch.float32).mean(0))


#: the removal operators of a measurement (:mod:`xairepro.evaluation.operators`): the baseline (here the
#: training mean, what :func:`unit` removes to, so the ``mean`` operator would repeat it), 0 cm (out of
#: distribution), a random training flower's value of the measurement (in distribution)
OPERATORS = ("baseline", "zero", "draw")


def operator_units(data: IrisData, cfg: Mapping, *, seed: int = 0) -> dict[str, Unit]:
    """``{operator: feature unit}`` of ``iris.faithfulness.operators`` (``cfg``: that section; default
    :data:`OPERATORS`), :func:`unit` as ``baseline``; the training rows are the flowers of ``data`` (the
    blog trains on all of them), ``draw`` seeded with ``seed``."""
    x = torch.as_tensor(data.x, dtype=torch.float32)
    return bind_operators(unit(data), list(cfg.get("operators") or OPERATORS),
                          {"train_rows": x, "mean": x.mean(0), "seed": int(seed)}, key="iris.faithfulness.operators")


def settings(model, cfg: Mapping, *, data: IrisData, ctx: RunContext, output_fn: Optional[Callable] = None) -> dict:
    """The settings of every method explaining ``model`` on the flowers of ``data``; ``cfg``:
    ``noise_mode`` (SmoothGrad's sigma ``relative`` to each flower's range, the blog's, or ``absolute``);
    ``output_fn``: the explained score of the model's output (default: the output ``target`` picks)."""
    x = torch.as_tensor(data.x, dtype=torch.float32, device=ctx.torch_device)
    out = {"baselines": x.mean(0), "background": x, "noise_mode": cfg.get("noise_mode", "relative"),
           "max_batch": ctx.max_batch}
    if output_fn is not None:
        out["output_fn"] = output_fn
    return out


def example_inputs(n: int, cfg: Mapping) -> torch.Tensor:
    """``n`` random flowers ``(n, 4)`` in the measurements' range (0.1 to 8 cm); the iris section
    configures no shape (the table has four columns)."""
    return 0.1 + 7.9 * torch.rand(int(n), N_FEATURES, generator=torch.Generator().manual_seed(0))


def explainer(model, cfg: Mapping, *, ctx: RunContext, data: IrisData, noise_mode: str = "relative",
              output_fn: Optional[Callable] = None) -> Explainer:
    """The Explainer of an iris study section ``cfg`` (``methods``, ``mc_samples``: M of the sampling
    methods, optionally ``method_options`` and ``aggregate``: the reading of every method) on ``model``,
    drawing with ``ctx.seed``, all flowers in one batch."""
    return Explainer(model, list(cfg["methods"]),
                     settings=partial(settings, cfg={"noise_mode": noise_mode}, data=data, ctx=ctx,
                                      output_fn=output_fn),
                     method_options=cfg.get("method_options") or {}, M=int(cfg["mc_samples"]),
                     aggregation=cfg.get("aggregate", "raw"), device=ctx.torch_device, seed=int(ctx.seed))


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "multiclass"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "faithfulness"
#: setosa, versicolor, virginica
N_CLASSES = 3


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved iris section ``cfg``: its faithfulness."""
    return study_section(cfg, EXAMPLE_SECTION)


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords training adds to a model spec: the table's columns, one logit per species."""
    return {"n_in": N_FEATURES, "n_out": N_CLASSES}


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with the section the faithfulness study reads of the
    resolved iris section ``cfg`` (``attribution.noise_mode``), 150 random flowers as the data (no mask network
    is trained: ``mask_net`` unused)."""
    data = SimpleNamespace(x=example_inputs(150, cfg))
    return explainer(model, dict(example_section(cfg), methods=list(methods)), ctx=ctx, data=data,
                     noise_mode=cfg["attribution"].get("noise_mode", "relative"))


def example_dataset(n: int, cfg: Mapping) -> torch.utils.data.TensorDataset:
    """``n`` labelled training examples of the resolved iris section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` and random species."""
    return torch.utils.data.TensorDataset(example_inputs(n, cfg), example_labels(n, TASK, N_CLASSES))


def example_targets(n: int, cfg: Mapping):
    """The explained output of each of ``n`` :func:`example_inputs`: random species (seeded with ``n``)."""
    return example_labels(n, TASK, N_CLASSES)
