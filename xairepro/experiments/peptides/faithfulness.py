"""Deletion/insertion faithfulness of the four methods over residues of the test peptides.

A residue is a token (:class:`xairepro.evaluation.units.TokenUnit` on the peptide's letter ids,
fed to the model through :class:`xairepro.models.peptide_cnn.IdsToOneHot`); removing it sets its
one-hot row to zero, the integrated-gradients baseline. The explained score is the hemolytic
logit, so only test peptides the model predicts hemolytic are used (for the others the evidence
points the other way and a deletion curve of the logit would reward the wrong residues).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ...evaluation.units import TokenUnit
from ...models.peptide_cnn import IdsToOneHot
from .data import ALPHABET, PeptideData
from .explain import METHODS, residue_attributions

__all__ = ["faithfulness"]


def faithfulness(model, data: PeptideData, attribution: Mapping, spec: Mapping, *,
                 ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(per-example AOPC rows, curves, ranked summary) on the first ``spec['n_examples']``
    predicted-hemolytic test peptides."""
    device = ctx.torch_device
    model = model.to(device).eval()
    test = data.split["test"]
    x_all = torch.as_tensor(data.x[test], device=device)
    with torch.no_grad():
        positive = (model(x_all).view(-1) > 0).cpu().numpy()
    chosen = test[positive][: int(spec["n_examples"])]
    if len(chosen) == 0:
        raise ValueError("faithfulness: the model predicts no test peptide hemolytic")
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    settings = dict(attribution, ig_steps=spec["ig_steps"], smoothgrad_samples=spec["smoothgrad_samples"],
                    shapley_samples=spec["shapley_samples"])
    examples, scores = [], {m: [] for m in METHODS}
    for k, i in enumerate(chosen):
        x = torch.as_tensor(data.x[i], device=device).unsqueeze(0)
        n = int(x[0, :, 1:].sum())
        per, _ = residue_attributions(model, x, n, background, settings, ctx=ctx.child(k))
        for m in METHODS:
            scores[m].append(np.asarray(per[m], dtype=float))
        examples.append(x[0].argmax(-1).cpu())
    wrapped = IdsToOneHot(model, len(ALPHABET)).eval()
    unit = TokenUnit(pad_id=0, replacement=len(ALPHABET))
    steps = int(spec["steps"])
    fractions = np.linspace(0.0, float(spec["max_fraction"]), steps + 1)
    per_example, curves = faithfulness_study(wrapped, examples, scores, unit, fractions=fractions,
                                             n_random=int(spec["n_random"]), seed=ctx.seed,
                                             max_batch=ctx.max_batch, example_ids=[int(i) for i in chosen])
    return per_example, curves, faithfulness_summary(per_example)
