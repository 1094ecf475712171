"""The leaderboard protocol over residues of the test peptides
(:func:`~xairepro.experiments.suite.faithfulness_suite`), on the chapter's CNN and its dropout variant.

Each peptide is explained as the chapter's study explains its example (the section's
:class:`~.settings.PeptideExplainer`: the one-hot residue rows with the padding fixed, one settings
dict, residues read as the sum over their letters), the peptides of equal residue count in one batch
(the batch whose first peptide is number ``k`` among the explained ones draws with
``ctx.child(k)``'s seed). A residue is a token (:data:`~.settings.UNIT` on the peptide's letter ids,
fed to the model through :class:`xairepro.models.peptide_cnn.IdsToOneHot`); removing it sets its
one-hot row to zero, the integrated-gradients baseline. The explained score is the hemolytic logit, so only test peptides
the model predicts hemolytic are used (for the others the evidence points the other way and a
deletion curve of the logit would reward the wrong residues).

The chapter's CNN has no dropout, so the MC-dropout methods (BayesGrad, BayesSmoothGrad) come back
not applicable on it, with the reason; they run on the dropout variant (``faithfulness.dropout_methods``
on the model ``inputs['dropout_name']``, trained by the same recipe), whose rows carry its model
name. Per model the suite writes the per-example rows, curves, summary, the methods that did not
apply, the model-randomisation check (``sanity_steps``), the informativeness of the sampled
methods' per-residue spread and the seconds per method; the suite's ``shown`` keeps, for a few
peptides, each sampled method's per-residue mean and standard deviation (BayesGrad's bars with
their sd in the notebook).
"""
from __future__ import annotations

from typing import Mapping

import torch

from ...context import RunContext
from ..suite import FaithfulnessSpec, SuiteResult, faithfulness_suite
from .data import ALPHABET, PeptideData
from .settings import RESIDUE, UNIT, explainer, operator_units

__all__ = ["EXPERIMENT", "MODALITY", "faithfulness_study"]

EXPERIMENT, MODALITY = "peptides", "peptide sequence"


def _letters(ids: torch.Tensor) -> list[str]:
    return [ALPHABET[int(i)] for i in ids if int(i) != 0]


def _model_suite(model, name: str, methods, data: PeptideData, cfg: Mapping, *, ctx: RunContext,
                 replicate: int = 0) -> SuiteResult:
    device = ctx.torch_device
    model = model.to(device).eval()
    test = data.split["test"]
    with torch.no_grad():
        positive = (model(torch.as_tensor(data.x[test], device=device)).view(-1) > 0).cpu().numpy()
    chosen = test[positive][: int(cfg["n_examples"])]
    if len(chosen) == 0:
        raise ValueError(f"peptides faithfulness: model {name} predicts no test peptide hemolytic")
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    ids = torch.as_tensor(data.x[chosen]).argmax(-1)
    explain = explainer(model, cfg, background=background, ctx=ctx, seed=lambda k: ctx.child(k).seed,
                        methods=methods)
    labels = dict(experiment=EXPERIMENT, modality=MODALITY, unit=RESIDUE, model=name, replicate=int(replicate))
    return faithfulness_suite(explain, ids, FaithfulnessSpec.from_config(
        UNIT, cfg, ctx=ctx, operators=operator_units(data, cfg, seed=ctx.seed)), labels=labels,
                              example_ids=[int(i) for i in chosen], shown=int(cfg.get("uncertainty_examples", 3)),
                              unit_labels=_letters)


def faithfulness_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> SuiteResult:
    """On the first ``n_examples`` predicted-hemolytic test peptides of each model.

    ``inputs``: ``data``, ``model`` and ``model_name`` (the chapter's CNN, every method of
    ``cfg['methods']``), optionally ``dropout`` and ``dropout_name`` (its dropout variant, the methods
    of ``cfg['dropout_methods']``) and ``replicate`` (the model seed both were trained with, default 0;
    every row carries it). ``cfg``: ``methods``, ``dropout_methods``, ``n_examples``,
    ``steps``, ``max_fraction``, ``samples`` (M of the sampling methods), ``method_options``
    (integrated gradients' ``n_steps``, SmoothGrad's ``stdevs``, the random orders' ``M``),
    optionally ``sanity_steps`` (``all``: only the full randomisation; a list; ``[]``: 1, half and
    all layers; ``None``: none), ``uncertainty`` (default true) and ``uncertainty_examples``
    (peptides in the sd table, default 3)."""
    data: PeptideData = inputs["data"]
    jobs = [(inputs["model"], inputs["model_name"], list(cfg["methods"]))]
    if inputs.get("dropout") is not None and cfg.get("dropout_methods"):
        jobs.append((inputs["dropout"], inputs["dropout_name"], list(cfg["dropout_methods"])))
    suites = []
    for model, name, methods in jobs:
        suite = _model_suite(model, name, methods, data, cfg, ctx=ctx, replicate=inputs.get("replicate", 0))
        if suite.per_example.empty:
            raise ValueError(f"peptides faithfulness: none of the methods {methods} applies to model {name}: "
                             + "; ".join(f"{m}: {r}" for m, r in zip(suite.skipped["method"], suite.skipped["reason"])))
        suites.append(suite)
    return SuiteResult.concat(suites)
