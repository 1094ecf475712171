"""ESOL's settings: what every method of an ESOL study attributes to and how, the atom unit, random
inputs of the configured models, and the Explainer of a config section.

Attributions are taken at the atom embedding (``model.embedding``) against the baseline embedding
``baseline`` (0, the mean of the embedding's prior), signed input x gradient by default (BayesGrad
section 2.4: ``multiply_by_inputs``); the methods' own options (SmoothGrad's sigma, the
integrated-gradients points, the random orders' M) are the section's ``method_options``.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping, Optional, Sequence

from ...context import RunContext
from ...evaluation.units import AtomUnit
from ..examples import study_section
from ..explainer import Explainer
from ..graphs import (GRAPH_OPERATORS, atom_embedding, atom_operator_units, atom_unit, graph_explainer, labelled_graphs,
                      random_graphs)

__all__ = ["EXAMPLE_SECTION", "OPERATORS", "TASK", "example_dataset", "example_explainer", "example_inputs",
           "example_model_kwargs", "example_section", "example_targets", "explainer", "operator_units", "settings",
           "unit"]


def unit(cfg: Mapping) -> AtomUnit:
    """The atom, removed by setting its embedding row to ``cfg['baseline']`` (default 0)."""
    return atom_unit(cfg.get("baseline", 0.0))


#: the removal operators of an atom (:data:`~..graphs.GRAPH_OPERATORS`)
OPERATORS = GRAPH_OPERATORS


def operator_units(cfg: Mapping, model, train_graphs: Sequence) -> dict[str, AtomUnit]:
    """``{operator: unit}`` of ``esol.faithfulness.operators`` (``cfg``: that section; default the embedding
    set to the baseline, the training-mean embedding of ``model`` on its fold's ``train_graphs``, the atom
    deleted); ``baseline`` is :func:`unit`."""
    return atom_operator_units(unit(cfg), cfg, model, train_graphs, key="esol.faithfulness.operators")


def settings(model, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every method of an ESOL study is built from this: the atom embedding of ``model``, the
    ``baseline`` (:func:`~..graphs.atom_embedding`), ``multiply_by_inputs`` (default True: the signed
    maps of Fig. 5) and the run's ``max_batch``."""
    return dict(atom_embedding(model, cfg.get("baseline", 0.0)), max_batch=int(ctx.max_batch),
                multiply_by_inputs=bool(cfg.get("multiply_by_inputs", True)))


def example_inputs(n: int, cfg: Mapping, seed: int = 0) -> list:
    """``n`` random molecular graphs (the ESOL models take any molecule; ``cfg`` sets no input shape)."""
    return random_graphs(n, seed=seed)


def explainer(model, cfg: Mapping, *, ctx: RunContext, seed: Optional[int] = None) -> Explainer:
    """The Explainer of an ESOL section (``attribution`` or ``faithfulness``): its methods, their
    ``method_options``, ``mc_samples`` as M and ``aggregation``, on :func:`settings` of every model
    explained; chunks draw with ``seed`` (default ``ctx.seed``) plus their first molecule's index."""
    return graph_explainer(model, cfg, partial(settings, cfg=cfg, ctx=ctx), ctx=ctx, seed=seed)


#: what the experiment's models are trained for (:func:`example_dataset`)
TASK = "regression"
#: the section :func:`example_section` is read from (a test's overrides go there)
EXAMPLE_SECTION = "faithfulness"


def example_section(cfg: Mapping) -> dict:
    """The section the example explainer explains with, of the resolved esol section ``cfg``: the faithfulness section
    over ``mc_samples`` and ``baseline`` of ``attribution`` (rule esol_faithfulness)."""
    return study_section(cfg, EXAMPLE_SECTION, shared=("mc_samples", "baseline"))


def example_model_kwargs(cfg: Mapping) -> dict:
    """The data-dependent keywords esol's training adds to a model spec: one score per molecule."""
    return {"n_out": 1}


def example_explainer(model, cfg: Mapping, *, ctx: RunContext, methods: Sequence[str], mask_net=None) -> Explainer:
    """:func:`explainer` of ``methods`` on ``model`` with the section the faithfulness study reads of the
    resolved esol section ``cfg`` (graphs need no data; no mask network is trained: ``mask_net`` unused)."""
    return explainer(model, dict(example_section(cfg), methods=list(methods)), ctx=ctx)


def example_dataset(n: int, cfg: Mapping) -> list:
    """``n`` labelled training examples of the resolved esol section ``cfg`` as ``training.fit`` takes them:
    :func:`example_inputs` (seeded with ``n``) with random log S labels ``y``."""
    return labelled_graphs(n, TASK)


def example_targets(n: int, cfg: Mapping) -> None:
    """The explained output of :func:`example_inputs`: the model's one score (``None``)."""
    return None
