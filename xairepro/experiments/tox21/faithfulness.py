"""Tox21 faithfulness: deletion and insertion curves over atoms for every attribution method, on the
full-data pyridine model and the validation molecules that contain pyridine (the explained output is
the pre-sigmoid score)."""
from __future__ import annotations

from typing import Sequence

from ...context import RunContext
from ..graphs import atom_faithfulness
from .data import pyridine_evaluation_set


def pyridine_faithfulness(model, graphs: Sequence, splits: dict, *, attribution: dict, faithfulness: dict,
                          ctx: RunContext):
    """(per-example rows, curve rows, summary) on the first ``n_examples`` validation pyridine molecules."""
    chosen, _ = pyridine_evaluation_set(graphs, splits)
    chosen = chosen[: faithfulness["n_examples"]]
    return atom_faithfulness(model, chosen, attribution=attribution, faithfulness=faithfulness, ctx=ctx,
                             example_ids=[g.mol_id for g in chosen])
