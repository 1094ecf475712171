"""ESOL faithfulness: deletion and insertion curves over atoms for every attribution method the
config names, each held-out molecule explained by the fold model that did not see it (the explained
output is the predicted log solubility)."""
from __future__ import annotations

import math
from typing import Mapping

import pandas as pd

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_summary
from ..graphs import AtomFaithfulness, atom_faithfulness
from .data import split_fold

EXPERIMENT = "esol"


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> AtomFaithfulness:
    """Faithfulness over the first ``n_examples`` held-out molecules, taken evenly from the folds
    (model k explains fold k, with ``ctx.child(k)``).

    ``inputs``: ``models`` (one per fold), ``graphs`` (every featurized molecule), ``model_name``.
    ``cfg``: n_folds, n_examples, methods, steps, max_fraction, mc_samples, smoothgrad_noise,
    baseline, ig_steps, n_random, method_options, aggregation (:func:`~..graphs.atom_faithfulness`).
    Per-example and skipped rows carry the fold as ``replicate``; the curves are pooled over the
    folds (fold means weighted by the fold's number of molecules).
    """
    per_fold = math.ceil(cfg["n_examples"] / cfg["n_folds"])
    per_example, curves, skipped = [], [], []
    for fold, model in enumerate(inputs["models"]):
        _, test = split_fold(inputs["graphs"], fold, cfg["n_folds"], ctx.seed)
        test = test[:per_fold]
        res = atom_faithfulness(model, test, cfg, ctx=ctx.child(fold), experiment=EXPERIMENT,
                                model_name=inputs["model_name"], replicate=fold,
                                example_ids=[g.mol_id for g in test])
        per_example.append(res.per_example)
        curves.append(res.curves.assign(n=len(test)))
        skipped.append(res.skipped)
    per_example = pd.concat(per_example, ignore_index=True)
    curves = pd.concat(curves, ignore_index=True)
    curves["weighted"] = curves["mean"] * curves["n"]
    pooled = curves.groupby(["method", "mode", "fraction"], as_index=False, sort=False).agg(
        weighted=("weighted", "sum"), n=("n", "sum"))
    pooled["mean"] = pooled["weighted"] / pooled["n"]
    return AtomFaithfulness(per_example, pooled[["method", "mode", "fraction", "mean", "n"]],
                            faithfulness_summary(per_example), pd.concat(skipped, ignore_index=True))
