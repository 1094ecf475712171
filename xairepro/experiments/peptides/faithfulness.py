"""The leaderboard protocol over residues of the test peptides
(:func:`~xairepro.experiments.suite.faithfulness_suite`), on the chapter's CNN and its dropout variant.

Each peptide is explained as the chapter's study explains its example (:func:`~.explain.residue_results`:
the one-hot input, one settings dict, residues read as the sum over their letters). A residue is a
token (:func:`~.explain.residue_unit` on the peptide's letter ids, fed to the model through
:class:`xairepro.models.peptide_cnn.IdsToOneHot`); removing it sets its one-hot row to zero, the
integrated-gradients baseline. The explained score is the hemolytic logit, so only test peptides
the model predicts hemolytic are used (for the others the evidence points the other way and a
deletion curve of the logit would reward the wrong residues).

The chapter's CNN has no dropout, so the MC-dropout methods (BayesGrad, BayesSmoothGrad) come back
not applicable on it, with the reason; they run on the dropout variant (``faithfulness.dropout_methods``
on the model ``inputs['dropout_name']``, trained by the same recipe), whose rows carry its model
name. Per model the suite writes the per-example rows, curves, summary, the methods that did not
apply, the model-randomisation check (``sanity_steps``), the informativeness of the sampled
methods' per-residue spread and the seconds per method; :func:`~..suite.unit_examples` keeps, for the first
few peptides, each sampled method's per-residue mean and standard deviation (BayesGrad's bars with
their sd in the notebook).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import Explanation
from ...context import RunContext
from ...models.peptide_cnn import IdsToOneHot
from ..graphs import sanity_steps
from ..methods import NotApplicable, applicable
from ..suite import SuiteResult, SuiteTables, faithfulness_suite, unit_examples
from .data import ALPHABET, PeptideData
from .explain import RESIDUE, residue_results, residue_unit

__all__ = ["EXPERIMENT", "MODALITY", "faithfulness_study"]

EXPERIMENT, MODALITY = "peptides", "peptide sequence"



def _concat(parts: list) -> dict:
    """Per-peptide results -> one result per method (a method that did not apply keeps its reason)."""
    out = {}
    for name in parts[0]:
        got = [p[name] for p in parts]
        out[name] = got[0] if isinstance(got[0], NotApplicable) else Explanation.cat(got)
    return out


def _letters(ids: torch.Tensor) -> list[str]:
    return [ALPHABET[int(i)] for i in ids if int(i) != 0]


def _model_suite(model, name: str, methods, data: PeptideData, cfg: Mapping, *, ctx: RunContext):
    device = ctx.torch_device
    model = model.to(device).eval()
    test = data.split["test"]
    with torch.no_grad():
        positive = (model(torch.as_tensor(data.x[test], device=device)).view(-1) > 0).cpu().numpy()
    chosen = test[positive][: int(cfg["n_examples"])]
    if len(chosen) == 0:
        raise ValueError(f"peptides faithfulness: model {name} predicts no test peptide hemolytic")
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    xs = [torch.as_tensor(data.x[i], device=device).unsqueeze(0) for i in chosen]
    lengths = [int(x[0, :, 1:].sum()) for x in xs]
    examples = [x[0].argmax(-1).cpu() for x in xs]
    wrapped = IdsToOneHot(model, len(ALPHABET)).eval()
    captured: dict = {}

    def explain_fn(m, seconds):
        # m is the wrapped model or a randomised copy of it: explain its CNN on the one-hot rows
        parts = [residue_results(m.model, x, n, background, list(methods), cfg, M=int(cfg["samples"]),
                                 seed=ctx.child(k).seed, ctx=ctx, seconds=seconds)
                 for k, (x, n) in enumerate(zip(xs, lengths))]
        results = _concat(parts)
        if m is wrapped:
            captured.update(results)
        return results

    ids = [int(i) for i in chosen]
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=RESIDUE, model=name, replicate=0)
    suite = faithfulness_suite(wrapped, examples, residue_unit(), explain_fn, labels=labels,
                               fractions=np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1),
                               max_batch=ctx.max_batch, example_ids=ids,
                               sanity_steps=sanity_steps(wrapped, cfg.get("sanity_steps", [])), sanity_seed=ctx.seed,
                               uncertainty=bool(cfg.get("uncertainty", True)))
    shown = unit_examples(applicable(captured), residue_unit(), examples, ids, _letters, experiment=EXPERIMENT,
                          model=name, n=int(cfg.get("uncertainty_examples", 3)))
    return suite, shown


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteTables:
    """On the first ``n_examples`` predicted-hemolytic test peptides of each model (peptide ``k``
    explained with ``ctx.child(k)``'s seed).

    ``inputs``: ``data``, ``model`` and ``model_name`` (the chapter's CNN, every method of
    ``cfg['methods']``), optionally ``dropout`` and ``dropout_name`` (its dropout variant, the methods
    of ``cfg['dropout_methods']``). ``cfg``: ``methods``, ``dropout_methods``, ``n_examples``,
    ``steps``, ``max_fraction``, ``n_random``, ``samples`` (M of the sampling methods), ``ig_steps``,
    ``smoothgrad_sigma``, optionally ``method_options``, ``sanity_steps`` (``all``: only the full
    randomisation; a list; ``[]``: 1, half and all layers; ``None``: none), ``uncertainty`` (default
    true) and ``uncertainty_examples`` (peptides in the sd table, default 3)."""
    data: PeptideData = inputs["data"]
    jobs = [(inputs["model"], inputs["model_name"], list(cfg["methods"]))]
    if inputs.get("dropout") is not None and cfg.get("dropout_methods"):
        jobs.append((inputs["dropout"], inputs["dropout_name"], list(cfg["dropout_methods"])))
    suites, shown = [], []
    for model, name, methods in jobs:
        suite, table = _model_suite(model, name, methods, data, cfg, ctx=ctx)
        if suite.per_example.empty:
            raise ValueError(f"peptides faithfulness: none of the methods {methods} applies to model {name}: "
                             + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))
        suites.append(suite)
        shown.append(table)
    return SuiteTables(SuiteResult.concat(suites), pd.concat(shown, ignore_index=True))
