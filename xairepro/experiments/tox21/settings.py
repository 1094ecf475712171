"""Tox21's settings: what every method of a Tox21 study attributes to and how, the atom unit, random
inputs of the configured models, and the Explainer of a config section.

Attributions are gradients of the pre-sigmoid score at the atom embedding (``model.embedding``),
against a zero embedding; Table 1 and the SR-MMP maps read the plain gradient squared and summed over
the channels (``multiply_by_inputs: false``, ``aggregation: square``), the faithfulness study the
signed contributions (the default). The noise sweep varies SmoothGrad's sigma through the Explainer's
``method_options`` (:func:`with_noise`); the methods' options are the section's ``method_options``.
"""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Mapping, Optional, Sequence

from ...attribution import accepted_options, method_class
from ...context import RunContext
from ...evaluation.units import AtomUnit
from ..examples import study_section
from ..explainer import Explainer
from ..graphs import (GRAPH_OPERATORS, atom_embedding, atom_operator_units, atom_unit, graph_explainer, labelled_graphs,
                      random_graphs)

__all__ = ["EXAMPLE_SECTION", "OPERATORS", "TASK", "example_dataset", "example_explainer", "example_inputs",
           "example_model_kwargs", "example_section", "example_targets", "explainer", "operator_units", "settings",
           "takes_noise", "unit", "with_noise"]


def settings(model, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every method of a Tox21 study is built from this: the atom embedding of ``model`` with its
    ``baseline`` (:func:`~..graphs.atom_embedding`), ``multiply_by_inputs`` (default True, signed;
    Table 1's section sets it false) and the run's ``max_batch``."""
    signed = bool(cfg.get("multiply_by_inputs", True))
    return dict(atom_embedding(model, cfg.get("baseline", 0.0)), multiply_by_inputs=signed,
                max_batch=int(ctx.max_batch))


def explainer(model, cfg: Mapping, *, ctx: RunContext, seed: Optional[int] = None) -> Explainer:
    """The Explainer of a Tox21 section (``attribution``, ``srmmp`` or ``faithfulness``): its methods,
    their ``method_options``, ``mc_samples`` as M and ``aggregation``, on :func:`settings` of every
    model explained; chunks draw with ``seed`` (default ``ctx.seed``) plus their first molecule's index."""
    return graph_explainer(model, cfg, partial(settings, cfg=cfg, ctx=ctx), ctx=ctx, seed=seed)


def takes_noise(method: str) -> bool:
    """Whether the registered method draws noise of sigma ``stdevs`` (SmoothGrad, BayesSmoothGrad, a
    user's own noisy method): those are swept over ``noise_sweep``."""
    return "stdevs" in accepted_options(method_class(method))


def with_noise(configured: Explainer, sigma: float) -> Explainer:
    """The same explainer with SmoothGrad's sigma (``stdevs``) set to ``sigma`` in every configured
    method that takes one (one point of the noise sweep); the other options are kept."""
    options = {m: dict(configured.method_options.get(m, {}), **({"stdevs": float(sigma)} if takes_noise(m) else {}))
               for m in configured.methods}
    return replace(configured, method_options=options)


def unit(cfg: Mapping) -> AtomUnit:
    """The atom, removed by setting its embedding row to ``cfg['baseline']`` (default 0)."""
    return atom_unit(cfg.get("baseline", 0.0))


#: the removal operators of an atom (:data:`~..graphs.GRAPH_OPERATORS`)
OPERATORS = GRAPH_OPERATORS


def operator_units(cfg: Mapping, model, train_graphs: Sequence) -> dict[str, AtomUnit]:
    """``{operator: unit}`` of ``tox21.faithfulness.operators`` (``cfg``: that section; default the embedding
    set to the baseline, the training-mean embedding of ``model`` on the molecules it was trained on,
    ``train_graphs``, the atom deleted); ``baseline`` is :func:`unit`."""
    return atom_operator_units(unit(cfg), cfg, model, train_graphs, key="tox21.faithfulness.operators")


def example_inputs(n: int, cfg: Mapping, seed: int = 0) -> list:
    """``n`` random molecular graphs (the Tox21 models take any molecule; ``cfg`` sets no input shape)."""
    return random_graphs(n, seed=seed)


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "binary"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "faithfulness"


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved tox21 section ``cfg``: the faithfulness section
    over ``attribution.mc_samples`` (rule tox21_faithfulness)."""
    return study_section(cfg, EXAMPLE_SECTION, shared=("mc_samples",))


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords tox21's training adds to a model spec: one score per molecule."""
    return {"n_out": 1}


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with the section the faithfulness study reads of the
    resolved tox21 section ``cfg`` (graphs need no data; no mask network is trained: ``mask_net`` unused)."""
    return explainer(model, dict(example_section(cfg), methods=list(methods)), ctx=ctx)


def example_dataset(n: int, cfg: Mapping) -> list:
    """``n`` labelled training examples of the resolved tox21 section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` (seeded with ``n``) with random 0/1 labels ``y``."""
    return labelled_graphs(n, TASK)


def example_targets(n: int, cfg: Mapping) -> None:
    """The explained output of :func:`example_inputs`: the model's one score (``None``)."""
    return None
