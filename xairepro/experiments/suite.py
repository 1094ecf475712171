"""One faithfulness protocol for every experiment: deletion/insertion curves of every configured
method, the methods that could not apply with their reasons, the model-randomisation sanity check,
the informativeness of the sampling methods' uncertainty, and the cost of each method.

An experiment supplies its model, its examples, the unit they are read in, and
``explain_fn(model, seconds) -> {method: Explanation | NotApplicable}`` (usually
:func:`~xairepro.experiments.methods.explain` over its configured method list): the same function
is called on the trained model and on its randomised copies, so every method, a user's own
included, is measured the same way everywhere. A helper module of the experiments, not an
experiment.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from ..evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ..evaluation.sanity import cascading_randomisation, rank_correlations, single_unit_drops, spearman
from ..evaluation.units import Unit
from ..evaluation.verdicts import sanity_verdicts, uncertainty_verdicts
from .methods import applicable, faithfulness_rows, skipped_rows

__all__ = ["SuiteResult", "SuiteTables", "UNIT_EXAMPLE_COLUMNS", "faithfulness_suite", "unit_examples"]

LABELS = ("experiment", "modality", "unit", "model", "replicate")
#: Columns of the per-unit mean and spread table of the sampled methods (the notebooks' sd bars).
UNIT_EXAMPLE_COLUMNS = ["experiment", "model", "method", "example", "position", "unit_label", "mean", "sd", "M"]


@dataclass
class SuiteResult:
    """Tables of one (experiment, model, replicate), each with the label columns first."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame
    sanity: pd.DataFrame
    uncertainty: pd.DataFrame
    cost: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables as written, the sanity and uncertainty rows with their verdicts (``passes``,
        ``informative``: :mod:`xairepro.evaluation.verdicts`)."""
        verdicts = {"sanity": sanity_verdicts, "uncertainty": uncertainty_verdicts}
        return {k: verdicts.get(k, lambda t: t)(getattr(self, k))
                for k in ("per_example", "curves", "summary", "skipped", "sanity", "uncertainty", "cost")}

    @staticmethod
    def concat(results: Sequence["SuiteResult"]) -> "SuiteResult":
        return SuiteResult(**{k: pd.concat([getattr(r, k) for r in results], ignore_index=True)
                              for k in SuiteResult.__dataclass_fields__})


def _labelled(frame: pd.DataFrame, labels: Mapping) -> pd.DataFrame:
    frame = frame.copy()
    for i, key in enumerate(LABELS):
        if key not in frame:
            frame.insert(i, key, labels[key])
    return frame


def faithfulness_suite(model, examples: Sequence, unit: Unit, explain_fn: Callable, *, labels: Mapping,
                       fractions, targets: Optional[Sequence[int]] = None, score_fn: Optional[Callable] = None,
                       aggregation="raw", max_batch: int = 2048, example_ids: Optional[Sequence] = None,
                       sanity_steps: Optional[Sequence[int]] = (), sanity_seed: int = 0,
                       uncertainty: bool = True) -> SuiteResult:
    """Every table of the protocol for one model.

    labels
        experiment, modality, unit, model, replicate (the seed, fold or model index).
    sanity_steps
        cascade steps of the model-randomisation check (numbers of top layers re-initialised;
        ``()`` gives the default 1, half, all; ``None`` skips the check).
    uncertainty
        for every method with ``M > 1`` samples, correlate each unit's spread with the score change
        when that unit alone is removed.
    aggregation
        the elementwise reading of the attributions, one for all or ``{method: aggregation}``.
    """

    def reading(name):
        return aggregation.get(name, "raw") if isinstance(aggregation, Mapping) else aggregation
    labels = {k: labels[k] for k in LABELS}
    seconds: dict = {}
    results = explain_fn(model, seconds)
    explanations = applicable(results)
    ids = list(example_ids) if example_ids is not None else list(range(len(examples)))
    per_example, curves = faithfulness_study(model, examples, explanations, unit, fractions=fractions,
                                             targets=targets, score_fn=score_fn, aggregation=aggregation,
                                             max_batch=max_batch, example_ids=ids)
    summary = faithfulness_summary(per_example) if len(per_example) else pd.DataFrame()
    skipped = skipped_rows(results, **labels)
    cost = pd.DataFrame([{**labels, "method": m, "seconds": float(seconds.get(m, float("nan"))),
                          "n_examples": len(examples)} for m in explanations])

    sanity_rows = []
    if sanity_steps is not None and explanations:
        reference = {m: e.units(unit, examples, reading(m)) for m, e in explanations.items()}
        for label, k, randomised in cascading_randomisation(model, sanity_steps or None, seed=sanity_seed):
            again = applicable(explain_fn(randomised, {}))
            for m, e in again.items():
                if m not in reference:
                    continue
                rho = rank_correlations(reference[m], e.units(unit, examples, reading(m)))
                sanity_rows += [{**labels, "method": m, "randomisation": label, "layers": k, "example": ids[i],
                                 "spearman": float(r)} for i, r in enumerate(rho)]
    sanity = pd.DataFrame(sanity_rows, columns=[*LABELS, "method", "randomisation", "layers", "example", "spearman"])

    unc_rows = []
    sampled = {m: e for m, e in explanations.items() if e.M > 1 and not e.each_sample_is_an_order}
    if uncertainty and sampled:
        drops = single_unit_drops(model, examples, unit, targets=targets, score_fn=score_fn)
        for m, e in sampled.items():
            spreads = e.unit_spread(unit, examples, reading(m))
            unc_rows += [{**labels, "method": m, "example": ids[i], "n_units": len(s),
                          "spearman_sd_vs_drop": spearman(s, np.abs(d))}
                         for i, (s, d) in enumerate(zip(spreads, drops))]
    unc = pd.DataFrame(unc_rows, columns=[*LABELS, "method", "example", "n_units", "spearman_sd_vs_drop"])
    if not len(per_example):  # no method applied: an empty table of the same shape
        per_example = pd.DataFrame(columns=["method", "example", "deletion_aopc", "insertion_auc"])
    return SuiteResult(per_example=faithfulness_rows(per_example, **labels), curves=_labelled(curves, labels), summary=_labelled(summary, labels), skipped=skipped,
                       sanity=sanity, uncertainty=unc, cost=cost)


@dataclass
class SuiteTables:
    """The suite's seven tables (``suite``) and the per-unit mean and sd of the sampled methods on a
    few examples (``unit_examples``, :data:`UNIT_EXAMPLE_COLUMNS`); the suite's tables read as
    attributes (``.per_example``, ``.summary``...). Shared by the iris, peptide and SMILES2vec studies."""

    suite: SuiteResult
    unit_examples: pd.DataFrame

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(self.suite.tables(), unit_examples=self.unit_examples)

    def __getattr__(self, name):  # per_example, summary, skipped... of the suite
        if name.startswith("__") or name in ("suite", "unit_examples"):
            raise AttributeError(name)
        return getattr(self.suite, name)


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
