"""Tox21 faithfulness: deletion and insertion curves over atoms for every attribution method the
config names, on the full-data pyridine model and the validation molecules that contain pyridine
(the explained output is the pre-sigmoid score)."""
from __future__ import annotations

from typing import Mapping

from ...context import RunContext
from ..graphs import AtomFaithfulness, atom_faithfulness
from .data import pyridine_evaluation_set

EXPERIMENT = "tox21"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> AtomFaithfulness:
    """Faithfulness on the first ``n_examples`` validation pyridine molecules.

    ``inputs``: ``model`` (the full-data pyridine model), ``graphs``, ``splits``, ``model_name``.
    ``cfg``: n_examples, methods, steps, max_fraction, mc_samples, smoothgrad_noise, baseline,
    ig_steps, n_random, method_options, aggregation (:func:`~..graphs.atom_faithfulness`). One model,
    so every row has ``replicate`` 0.
    """
    chosen, _ = pyridine_evaluation_set(inputs["graphs"], inputs["splits"])
    chosen = chosen[: cfg["n_examples"]]
    return atom_faithfulness(inputs["model"], chosen, cfg, ctx=ctx, experiment=EXPERIMENT,
                             model_name=inputs["model_name"], replicate=0, example_ids=[g.mol_id for g in chosen])
