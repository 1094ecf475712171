"""Deletion/insertion faithfulness over SMILES characters (the shared metric).

A character is a token (:class:`~xairepro.evaluation.units.TokenUnit`); removing it replaces it
with the padding character, whose embedding is zero (the integrated-gradients baseline). The
model is a regressor, so the explained score is the size of its prediction's departure from the
all-padding string's prediction, ``|f(x) - f(empty)|``: removing the characters a method ranks
first should shrink it fastest. Methods rank by the same unsigned scores as the top-3 check.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ...evaluation.units import TokenUnit
from .data import SmilesData
from .explain import _ranking

__all__ = ["faithfulness"]


def faithfulness(model, data: SmilesData, idx, scores: Mapping[str, np.ndarray], spec: Mapping, *, seed: int,
                 max_batch: int, device) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-example rows, curves, ranked summary) for the molecules ``idx`` (rows of ``scores``)."""
    model = model.to(device).eval()
    n = min(int(spec["n_examples"]), len(idx))
    unit = TokenUnit(pad_id=data.pad_id)
    examples = [torch.as_tensor(data.tokens[i]) for i in idx[:n]]
    with torch.no_grad():
        empty = float(model(torch.full((1, data.tokens.shape[1]), data.pad_id, device=device)).view(-1)[0])
    method_scores = {m: [unit.scores_at_units(ex, _ranking(m, s[r])) for r, ex in enumerate(examples)]
                     for m, s in scores.items() if m != "random"}
    fractions = np.linspace(0.0, float(spec["max_fraction"]), int(spec["steps"]) + 1)
    per_example, curves = faithfulness_study(model, examples, method_scores, unit, fractions=fractions,
                                             score_fn=lambda out: (out - empty).abs(),
                                             n_random=int(spec["n_random"]), seed=seed, max_batch=max_batch,
                                             example_ids=[int(i) for i in idx[:n]])
    return per_example, curves, faithfulness_summary(per_example)
