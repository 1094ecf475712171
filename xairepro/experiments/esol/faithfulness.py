"""ESOL faithfulness: deletion and insertion curves over atoms for every attribution method, each
held-out molecule explained by the fold model that did not see it (the explained output is the
predicted log solubility)."""
from __future__ import annotations

import math

import pandas as pd

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_summary
from ..graphs import atom_faithfulness
from .data import split_fold


def heldout_faithfulness(models, graphs, *, n_folds: int, attribution: dict, faithfulness: dict,
                         ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-example rows, curve rows, summary) over the first ``n_examples`` held-out molecules,
    taken evenly from the folds (model k explains fold k)."""
    per_fold = math.ceil(faithfulness["n_examples"] / n_folds)
    per_example, curves = [], []
    for fold, model in enumerate(models):
        _, test = split_fold(graphs, fold, n_folds, ctx.seed)
        test = test[:per_fold]
        pe, cu, _ = atom_faithfulness(model, test, attribution=attribution, faithfulness=faithfulness,
                                      ctx=ctx.child(fold), example_ids=[g.mol_id for g in test])
        per_example.append(pe.assign(fold=fold))
        curves.append(cu.assign(fold=fold, n=len(test)))
    per_example = pd.concat(per_example, ignore_index=True)
    curves = pd.concat(curves, ignore_index=True)
    # pooled curve: fold means weighted by the fold's number of molecules
    curves["weighted"] = curves["mean"] * curves["n"]
    pooled = curves.groupby(["method", "mode", "fraction"], as_index=False).agg(weighted=("weighted", "sum"),
                                                                                n=("n", "sum"))
    pooled["mean"] = pooled["weighted"] / pooled["n"]
    return per_example, pooled[["method", "mode", "fraction", "mean", "n"]], faithfulness_summary(per_example)
