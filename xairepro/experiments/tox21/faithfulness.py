"""Tox21 faithfulness, the leaderboard protocol (:func:`~xairepro.experiments.suite.faithfulness_suite`)
on every Table 1 subset model: deletion and insertion curves over atoms for every attribution method
the config names, the methods that could not apply, the model-randomisation check, the
informativeness of the sampled methods' per-atom spread and their cost, on the validation molecules
that contain pyridine (which no subset model trained on; the explained output is the pre-sigmoid
score). The subset model's seed is the replicate, so the leaderboard's interval covers models.

The full-data pyridine model is not measured here: it is one more model of the same recipe on a
larger training set, and the leaderboard shows one model per cell, so its rows would either be
hidden behind the subset models or mix a second training regime into their interval; Table 1's
claims about the methods are made on the subset models."""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from ...context import RunContext
from ...evaluation.verdicts import sanity_verdicts, uncertainty_verdicts
from ..graphs import atom_suite, pool_curves, pooled_summary
from ..suite import FaithfulnessSpec, SuiteResult
from .data import pyridine_data, pyridine_evaluation_set
from .settings import explainer, operator_units, unit

EXPERIMENT = "tox21"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """Every table of the protocol for one subset model on the first ``n_examples`` validation
    pyridine molecules.

    ``inputs``: ``model`` (one Table 1 subset model), ``graphs``, ``splits``, ``model_name``,
    ``replicate`` (the subset model's index), ``subset_size`` and ``seed`` (the base seed: its training
    subset, :func:`~.data.pyridine_data`). ``cfg``: n_examples, methods, mc_samples, method_options,
    aggregation, baseline, multiply_by_inputs (:mod:`.settings`), steps, max_fraction, sanity_steps,
    uncertainty (:class:`~..suite.FaithfulnessSpec`).
    """
    chosen, _ = pyridine_evaluation_set(inputs["graphs"], inputs["splits"])
    chosen = chosen[: cfg["n_examples"]]
    model = inputs["model"].to(ctx.torch_device).eval()
    # the training-mean embedding operator reads the molecules this subset model trained on
    replicate = int(inputs.get("replicate", 0))
    train, _ = pyridine_data(inputs["graphs"], inputs["splits"], replicate, int(inputs["subset_size"]), inputs["seed"])
    spec = FaithfulnessSpec.from_config(unit(cfg), cfg, ctx=ctx, operators=operator_units(cfg, model, train))
    return atom_suite(explainer(model, cfg, ctx=ctx), chosen, spec,
                      experiment=EXPERIMENT, model_name=inputs["model_name"], replicate=replicate,
                      example_ids=[g.mol_id for g in chosen])


def gather_faithfulness(tables: Sequence[Mapping[str, pd.DataFrame]]) -> dict[str, pd.DataFrame]:
    """The subset models' tables in one: each kind concatenated, the curves pooled over the models
    (``pooled_curves``) and the methods ranked over every (model, molecule) pair (``summary``)."""
    kinds = dict.fromkeys(k for t in tables for k in t)
    out = {}
    for kind in kinds:
        frames = [t[kind] for t in tables if kind in t and len(t[kind].columns)]
        out[kind] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # the verdicts of the models together (each per-model table carries its own model's)
    for kind, verdicts in (("sanity", sanity_verdicts), ("uncertainty", uncertainty_verdicts)):
        if kind in out:
            out[kind] = verdicts(out[kind])
    out["summary"] = pooled_summary(out["per_example"])
    out["pooled_curves"] = pool_curves(out["curves"])
    return out
