"""One faithfulness protocol for every experiment: deletion, LeRF and insertion curves of every
configured method under every removal operator, the pool-independent upper bound of each example
(:mod:`xairepro.evaluation.bounds`), the methods that could not apply with their reasons, the
model-randomisation sanity check, the informativeness of the sampling methods' uncertainty, and the
cost of each method and operator.

An experiment supplies an :class:`~.explainer.Explainer` (its model, methods, options and
settings), the inputs, and a :class:`FaithfulnessSpec` (the unit and how it is removed, the curve's
fractions, the checks): the same explainer explains the trained model and, through
:meth:`~.explainer.Explainer.on`, its randomised copies, so every method, a user's own included, is
measured the same way everywhere. A helper module of the experiments, not an experiment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch

from ..evaluation.bounds import BOUND_COLUMNS, BoundConfig
from ..evaluation.faithfulness import faithfulness_study, faithfulness_summary, operator_name
from ..evaluation.sanity import cascading_randomisation, rank_correlations, sanity_steps, single_unit_drops, spearman
from ..evaluation.units import Unit
from ..evaluation.verdicts import sanity_verdicts, uncertainty_verdicts
from .explainer import Explainer, applicable
from .methods import faithfulness_rows, skipped_rows

__all__ = ["COST_COLUMNS", "FaithfulnessSpec", "SuiteResult", "UNIT_EXAMPLE_COLUMNS", "examples_of", "sanity_rows",
           "faithfulness_suite", "unit_examples"]

LABELS = ("experiment", "modality", "unit", "model", "replicate")
#: Columns of the cost table: per method and operator, the explanation's seconds (the same on every
#: operator's row) and the seconds and distinct forward rows of its curves under that operator.
COST_COLUMNS = [*LABELS, "method", "operator", "seconds", "curve_seconds", "curve_rows", "n_examples"]
#: Columns of the per-unit mean and spread table of the sampled methods (the notebooks' sd bars).
UNIT_EXAMPLE_COLUMNS = ["experiment", "model", "method", "example", "position", "unit_label", "mean", "sd", "M"]


@dataclass
class SuiteResult:
    """Tables of one (experiment, model, replicate), each with the label columns first;
    ``bounds``: one row per example and operator (:data:`~xairepro.evaluation.bounds.BOUND_COLUMNS`);
    ``cost``: :data:`COST_COLUMNS`; ``unit_examples`` (:data:`UNIT_EXAMPLE_COLUMNS`) where the study
    asked for it."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame
    sanity: pd.DataFrame
    uncertainty: pd.DataFrame
    cost: pd.DataFrame
    bounds: pd.DataFrame
    unit_examples: Optional[pd.DataFrame] = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables as written, the sanity and uncertainty rows with their verdicts (``passes``,
        ``informative``: :mod:`xairepro.evaluation.verdicts`), and ``unit_examples`` where kept."""
        verdicts = {"sanity": sanity_verdicts, "uncertainty": uncertainty_verdicts}
        out = {k: verdicts.get(k, lambda t: t)(getattr(self, k))
               for k in ("per_example", "curves", "summary", "skipped", "sanity", "uncertainty", "cost", "bounds")}
        if self.unit_examples is not None:
            out["unit_examples"] = self.unit_examples
        return out

    @staticmethod
    def concat(results: Sequence["SuiteResult"]) -> "SuiteResult":
        shown = [r.unit_examples for r in results if r.unit_examples is not None]
        return SuiteResult(**{k: pd.concat([getattr(r, k) for r in results], ignore_index=True)
                              for k in SuiteResult.__dataclass_fields__ if k != "unit_examples"},
                           unit_examples=pd.concat(shown, ignore_index=True) if shown else None)


def _labelled(frame: pd.DataFrame, labels: Mapping) -> pd.DataFrame:
    frame = frame.copy()
    for i, key in enumerate(LABELS):
        if key not in frame:
            frame.insert(i, key, labels[key])
    return frame


@dataclass
class FaithfulnessSpec:
    """How an experiment measures faithfulness: the ``unit`` the methods' scores are read in (and
    its removal), the removal ``operators`` (``{name: operator-bound unit}``; None: the unit under its
    own operator), the removed ``fractions`` of the curves, the upper bound's search (``bound``: a
    :class:`~xairepro.evaluation.bounds.BoundConfig`, None for none), the model-randomisation check
    (``sanity_steps``: the config's value, :func:`~xairepro.evaluation.sanity.sanity_steps`), the
    uncertainty check, ``max_batch`` rows per forward pass of the curves and the search, and the seed
    of the randomised copies."""

    unit: Unit
    fractions: np.ndarray
    sanity_steps: Any = ()
    uncertainty: bool = True
    max_batch: int = 2048
    sanity_seed: int = 0
    operators: Optional[Mapping[str, Unit]] = None
    bound: Optional[BoundConfig] = BoundConfig()

    def operator_units(self) -> dict[str, Unit]:
        """``{operator name: unit}`` evaluated (:attr:`operators`, or the unit's own operator)."""
        return dict(self.operators) if self.operators else {operator_name(self.unit): self.unit}

    @classmethod
    def from_config(cls, unit: Unit, cfg: Mapping, *, ctx, operators: Optional[Mapping[str, Unit]] = None
                    ) -> "FaithfulnessSpec":
        """From a study's ``steps``, ``max_fraction``, ``sanity_steps`` (absent: the default cascade),
        ``uncertainty`` (default on) and ``bound`` (:meth:`BoundConfig.from_config
        <xairepro.evaluation.bounds.BoundConfig.from_config>`: absent for the defaults, false for no
        search), the run context's ``max_batch`` and ``seed``, and the ``operators``."""
        return cls(unit=unit, fractions=np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1),
                   sanity_steps=cfg.get("sanity_steps", ()), uncertainty=bool(cfg.get("uncertainty", True)),
                   max_batch=int(ctx.max_batch), sanity_seed=int(ctx.seed), operators=operators,
                   bound=BoundConfig.from_config(cfg.get("bound")))


def examples_of(inputs) -> list:
    """The examples of ``inputs`` one by one, on the CPU (the rows of a tensor, the graphs of a list)."""
    if isinstance(inputs, torch.Tensor):
        return list(inputs.detach().cpu())
    return list(inputs)


def faithfulness_suite(explainer: Explainer, inputs, spec: FaithfulnessSpec, *, labels: Mapping, target=None,
                       example_ids: Optional[Sequence] = None, known: Optional[Mapping] = None,
                       shown: int = 0, unit_labels: Optional[Callable] = None) -> SuiteResult:
    """Every table of the protocol for the explainer's model on ``inputs``.

    labels
        experiment, modality, unit, model, replicate (the seed, fold or model index).
    target
        the output explained and read by the curves: an index, or one per example.
    known
        explanations of the trained model already made elsewhere (an
        :class:`~.explainer.Explanations`, whose ``seconds`` are kept); the other methods are explained
        here. Every randomised copy is explained from scratch.
    shown, unit_labels
        keep the per-unit mean and sd of the sampled methods on ``shown`` examples (:func:`unit_examples`;
        ``unit_labels(example)`` names the units).
    """
    labels = {k: labels[k] for k in LABELS}
    examples = examples_of(inputs)
    targets = None if target is None else (
        [int(t) for t in (target.tolist() if isinstance(target, torch.Tensor) else target)]
        if not isinstance(target, int) else [int(target)] * len(examples))
    known_seconds = getattr(known, "seconds", {})
    known = {m: e for m, e in dict(known or {}).items() if m in explainer.methods}
    fresh = explainer.explain(inputs, target, names=[m for m in explainer.methods if m not in known])
    results = {m: known[m] if m in known else fresh[m] for m in explainer.methods}
    seconds = dict(fresh.seconds, **{m: float(known_seconds.get(m, float("nan"))) for m in known})
    explanations = applicable(results)
    reading = explainer.readings()
    scored = explainer.scored()
    ids = list(example_ids) if example_ids is not None else list(range(len(examples)))
    study = faithfulness_study(scored, examples, explanations, spec.unit, fractions=spec.fractions,
                               targets=targets, aggregation=reading, max_batch=spec.max_batch, example_ids=ids,
                               operators=spec.operator_units(), bound=spec.bound if explanations else None)
    per_example, curves = study.per_example, study.curves
    summary = faithfulness_summary(per_example) if len(per_example) else pd.DataFrame()
    skipped = skipped_rows(results, **labels)
    cost = pd.DataFrame([{**labels, "method": r["method"], "operator": r["operator"],
                          "seconds": float(seconds.get(r["method"], float("nan"))),
                          "curve_seconds": r["curve_seconds"], "curve_rows": r["curve_rows"],
                          "n_examples": len(examples)} for r in study.cost.to_dict("records")],
                        columns=COST_COLUMNS)
    bounds = _labelled(study.bounds, labels) if len(study.bounds) else pd.DataFrame(columns=[*LABELS, *BOUND_COLUMNS])

    sanity = sanity_rows(explainer, inputs, explanations, spec.unit, steps=spec.sanity_steps, labels=labels,
                         target=target, example_ids=ids, seed=spec.sanity_seed)

    unc_rows = []
    sampled = {m: e for m, e in explanations.items() if e.M > 1 and not e.each_sample_is_an_order}
    if spec.uncertainty and sampled:
        drops = single_unit_drops(scored, examples, spec.unit, targets=targets)
        for m, e in sampled.items():
            spreads = e.unit_spread(spec.unit, examples, reading[m])
            unc_rows += [{**labels, "method": m, "example": ids[i], "n_units": len(s),
                          "spearman_sd_vs_drop": spearman(s, np.abs(d))}
                         for i, (s, d) in enumerate(zip(spreads, drops))]
    unc = pd.DataFrame(unc_rows, columns=[*LABELS, "method", "example", "n_units", "spearman_sd_vs_drop"])
    kept = None
    if shown:
        kept = unit_examples(explanations, spec.unit, examples, ids, unit_labels, experiment=labels["experiment"],
                             model=labels["model"], n=shown, aggregation=reading)
    return SuiteResult(per_example=faithfulness_rows(per_example, **labels), curves=_labelled(curves, labels),
                       summary=_labelled(summary, labels), skipped=skipped, sanity=sanity, uncertainty=unc, cost=cost,
                       bounds=bounds, unit_examples=kept)


def sanity_rows(explainer: Explainer, inputs, explanations: Mapping, unit, *, steps: Any, labels: Mapping,
                target=None, example_ids: Optional[Sequence] = None, seed: int = 0) -> pd.DataFrame:
    """The model-randomisation check (Adebayo et al. 2018): the explainer's model re-initialised layer
    by layer from the top (the cascade ``steps``: :func:`~xairepro.evaluation.sanity.sanity_steps`;
    ``None`` from it: no check), each of ``explanations`` (the trained model's, by method) made again on
    every randomised copy, and the Spearman correlation of each example's unit ranking with the trained
    model's: one row per (method, step, example) with ``labels``, ``randomisation``, ``layers``."""
    labels = {k: labels[k] for k in LABELS}
    examples = examples_of(inputs)
    ids = list(example_ids) if example_ids is not None else list(range(len(examples)))
    reading = explainer.readings()
    rows = []
    cascade = sanity_steps(explainer.model, steps)
    if cascade is not None and explanations:
        reference = {m: e.units(unit, examples, reading[m]) for m, e in explanations.items()}
        for label, k, randomised in cascading_randomisation(explainer.model, cascade or None, seed=seed):
            again = applicable(explainer.on(randomised).explain(inputs, target, names=list(explanations)))
            for m, e in again.items():
                rho = rank_correlations(reference[m], e.units(unit, examples, reading[m]))
                rows += [{**labels, "method": m, "randomisation": label, "layers": k, "example": ids[i],
                          "spearman": float(r)} for i, r in enumerate(rho)]
    return pd.DataFrame(rows, columns=[*LABELS, "method", "randomisation", "layers", "example", "spearman"])


def unit_examples(explanations: Mapping, unit, examples, ids, labels, *, experiment: str, model: str, n: int,
                  aggregation="raw") -> pd.DataFrame:
    """For ``n`` examples spread evenly over ``examples`` (the first, the last and between), every
    sampled method's (``M > 1``, not the random orders) mean and standard deviation over its samples of
    each unit's score, read with ``aggregation`` (one for all, or ``{method: aggregation}``);
    ``labels(example)`` names the units. Used by the iris, peptide and SMILES2vec faithfulness studies
    (BayesGrad's per-unit sd beside its mean in their notebooks)."""
    rows = []
    picked = sorted({int(round(v)) for v in np.linspace(0, len(examples) - 1, min(int(n), len(examples)))}) \
        if int(n) > 0 and len(examples) else []
    for name, e in explanations.items():
        if e.M <= 1 or e.each_sample_is_an_order:
            continue
        read = aggregation.get(name, "raw") if isinstance(aggregation, Mapping) else aggregation
        means, sds = e.units(unit, examples, read), e.unit_spread(unit, examples, read)
        for i in picked:
            names = labels(examples[i])
            rows += [{"experiment": experiment, "model": model, "method": name, "example": ids[i], "position": j,
                      "unit_label": names[j], "mean": float(means[i][j]), "sd": float(sds[i][j]), "M": int(e.M)}
                     for j in range(len(means[i]))]
    return pd.DataFrame(rows, columns=UNIT_EXAMPLE_COLUMNS)
