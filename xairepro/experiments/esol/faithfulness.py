"""ESOL faithfulness, the leaderboard protocol (:func:`~xairepro.experiments.suite.faithfulness_suite`):
deletion and insertion curves over atoms for every attribution method the config names, the methods
that could not apply, the model-randomisation check, the informativeness of the sampled methods'
per-atom spread and their cost, each held-out molecule explained by the fold model that did not
see it (the explained output is the predicted log solubility). The fold is the replicate."""
from __future__ import annotations

import math
from typing import Mapping

from ...context import RunContext
from ..graphs import atom_suite, pooled_summary
from ..suite import FaithfulnessSpec, SuiteResult
from .data import split_fold
from .settings import explainer, operator_units, unit

EXPERIMENT = "esol"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """Every table of the protocol over the first ``n_examples`` held-out molecules, taken evenly
    from the folds (model k explains fold k, with ``ctx.child(k)``).

    ``inputs``: ``models`` (one per fold), ``graphs`` (every featurized molecule), ``model_name``.
    ``cfg``: n_folds, n_examples, methods, mc_samples, method_options, aggregation, baseline,
    multiply_by_inputs (:mod:`.settings`), steps, max_fraction, sanity_steps, uncertainty
    (:class:`~..suite.FaithfulnessSpec`). Every table carries the fold as ``replicate``; the curves are
    per fold with the fold's number of molecules ``n`` (:func:`~..graphs.pool_curves` pools them);
    the summary ranks the methods over the molecules of every fold (:func:`~..graphs.pooled_summary`).
    """
    per_fold = math.ceil(cfg["n_examples"] / cfg["n_folds"])
    results = []
    for fold, model in enumerate(inputs["models"]):
        train, test = split_fold(inputs["graphs"], fold, cfg["n_folds"], ctx.seed)
        test = test[:per_fold]
        run = ctx.child(fold)
        model = model.to(run.torch_device).eval()
        spec = FaithfulnessSpec.from_config(unit(cfg), cfg, ctx=run, operators=operator_units(cfg, model, train))
        results.append(atom_suite(explainer(model, cfg, ctx=run), test, spec, experiment=EXPERIMENT,
                                  model_name=inputs["model_name"], replicate=fold, example_ids=[g.mol_id for g in test]))
    result = SuiteResult.concat(results)
    result.summary = pooled_summary(result.per_example)
    return result
