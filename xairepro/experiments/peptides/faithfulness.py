"""Deletion/insertion faithfulness of every configured method over residues of the test peptides.

Each peptide is explained as the chapter's study explains its example (:func:`~.explain.residue_results`:
the one-hot input, one settings dict, residues read as the sum over their letters). A residue is a
token (:func:`~.explain.residue_unit` on the peptide's letter ids, fed to the model through
:class:`xairepro.models.peptide_cnn.IdsToOneHot`); removing it sets its one-hot row to zero, the
integrated-gradients baseline. The explained score is the hemolytic logit, so only test peptides
the model predicts hemolytic are used (for the others the evidence points the other way and a
deletion curve of the logit would reward the wrong residues). Methods that cannot apply
(BayesGrad on this dropout-free CNN, the mask where none is trained) are listed with their reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import Explanation
from ...context import RunContext
from ...evaluation import faithfulness as metric
from ...models.peptide_cnn import IdsToOneHot
from ..methods import NotApplicable, applicable, faithfulness_rows, skipped_rows
from .data import ALPHABET, PeptideData
from .explain import RESIDUE, residue_results, residue_unit

__all__ = ["EXPERIMENT", "MODALITY", "PeptideFaithfulness", "faithfulness_study"]

EXPERIMENT, MODALITY = "peptides", "peptide sequence"


@dataclass
class PeptideFaithfulness:
    """``per_example`` in the shared schema (:data:`~xairepro.experiments.methods.FAITHFULNESS_COLUMNS`),
    the curves, the ranked summary and the methods that did not apply (``skipped``)."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame


def _concat(parts: list) -> dict:
    """Per-peptide results -> one result per method (a method that did not apply keeps its reason)."""
    out = {}
    for name in parts[0]:
        got = [p[name] for p in parts]
        out[name] = got[0] if isinstance(got[0], NotApplicable) else Explanation.cat(got)
    return out


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> PeptideFaithfulness:
    """On the first ``n_examples`` predicted-hemolytic test peptides (peptide ``k`` explained with
    ``ctx.child(k)``'s seed). ``inputs``: ``model``, ``data``, ``model_name``. ``cfg``: ``methods``,
    ``n_examples``, ``steps``, ``max_fraction``, ``n_random``, ``samples`` (M of the sampling methods),
    ``ig_steps``, ``smoothgrad_sigma``, optionally ``method_options``."""
    data: PeptideData = inputs["data"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    test = data.split["test"]
    x_all = torch.as_tensor(data.x[test], device=device)
    with torch.no_grad():
        positive = (model(x_all).view(-1) > 0).cpu().numpy()
    chosen = test[positive][: int(cfg["n_examples"])]
    if len(chosen) == 0:
        raise ValueError("peptides faithfulness: the model predicts no test peptide hemolytic")
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    parts, examples = [], []
    for k, i in enumerate(chosen):
        x = torch.as_tensor(data.x[i], device=device).unsqueeze(0)
        n = int(x[0, :, 1:].sum())
        parts.append(residue_results(model, x, n, background, cfg["methods"], cfg, M=int(cfg["samples"]),
                                     seed=ctx.child(k).seed, ctx=ctx))
        examples.append(x[0].argmax(-1).cpu())
    results = _concat(parts)
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=RESIDUE, model=inputs["model_name"], replicate=0)
    explanations = applicable(results)
    skipped = skipped_rows(results, **labels)
    if not explanations:
        raise ValueError(f"peptides faithfulness: none of the methods {list(cfg['methods'])} applies: "
                         + "; ".join(f"{m}: {r}" for m, r in zip(skipped["method"], skipped["reason"])))
    wrapped = IdsToOneHot(model, len(ALPHABET)).eval()
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    per_example, curves = metric.faithfulness_study(wrapped, examples, explanations, residue_unit(),
                                                    fractions=fractions, max_batch=ctx.max_batch,
                                                    example_ids=[int(i) for i in chosen])
    return PeptideFaithfulness(faithfulness_rows(per_example, **labels), curves,
                               metric.faithfulness_summary(per_example), skipped)
