"""One trained model of a known-answer task, checked and scored: the reliance check, then every
configured method's per-unit scores on the examples whose prediction depends on the evidence, scored
against the evidence by :func:`xairepro.evaluation.localisation.localisation_table` (Table 1's PRC-AUC
under the reference extraction rule, relevance mass, pointing game)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ..context import RunContext
from ..evaluation.localisation import LOCALISATION_COLUMNS, localisation_table
from ..experiments.explainer import NotApplicable
from .modalities import modality
from .reliance import CONDITIONS, depends_on_evidence, relies, reliance_table

__all__ = ["LOCALISATION_TABLE_COLUMNS", "ScoredModel", "score_model"]

#: columns of every localisation table of the stage
LOCALISATION_TABLE_COLUMNS = ["task", "modality", "unit", "model", "replicate"] + LOCALISATION_COLUMNS


@dataclass
class ScoredModel:
    """What one model of a task gives: ``reliance`` (3 rows), ``verdict`` (one row: ``relies``, the counts
    of the filter), ``localisation`` (one row per method; empty when the model fails the check),
    ``skipped`` (methods that cannot apply, with the reason) and ``examples`` (a few scored examples'
    inputs, evidence and unit scores, for the figure)."""

    reliance: pd.DataFrame
    verdict: pd.DataFrame
    localisation: pd.DataFrame
    skipped: pd.DataFrame
    examples: dict = field(default_factory=dict)


def score_model(model, task: Mapping, section: Mapping, *, ctx: RunContext, methods: Sequence[str], labels: Mapping,
                min_drop: float, min_flip: float, n_scored: int, n_shown: int = 2) -> ScoredModel:
    """Check and score ``model`` on ``task``: ``section`` is the task's attribution section (the experiment
    explainer's keys: ``mc_samples``, ``method_options``, ...); ``labels``: ``model`` and ``replicate``;
    at most ``n_scored`` examples passing :func:`depends_on_evidence` are explained (the first ones)."""
    mod = modality(task["task"])
    labels = dict(task=task["task"], modality=task["modality"], **labels)
    probs = {c: mod.probabilities(model, task, task[f"test_{c}"], ctx=ctx) for c in CONDITIONS}
    k, k2 = task["evidence_class"], task["swapped_class"]
    reliance = reliance_table(probs, k, k2, labels)
    ok = relies(reliance, min_drop=min_drop, min_flip=min_flip)
    passing = np.flatnonzero(depends_on_evidence(probs, k, k2))
    chosen = passing[: int(n_scored)]
    verdict = pd.DataFrame([dict(labels, relies=ok, n_examples=int(len(k)), n_depend=int(len(passing)),
                                 n_scored=int(len(chosen)) if ok else 0)])
    empty = pd.DataFrame(columns=LOCALISATION_TABLE_COLUMNS)
    skipped = pd.DataFrame(columns=["task", "model", "replicate", "method", "reason"])
    if not ok or len(chosen) == 0:
        return ScoredModel(reliance, verdict, empty, skipped)
    idx = torch.as_tensor(chosen)
    x = task["test_present"][idx]
    target = torch.as_tensor(k)[idx].long()
    explainer = mod.explainer(model, task, section, ctx=ctx, methods=methods)
    got = mod.explain(explainer, task, x, target)
    examples = list(mod.inputs(task, x))
    evidence = [mod.unit_evidence(task, ex, task["evidence"][int(i)]) for ex, i in zip(examples, chosen)]
    scores, skip = {}, []
    for name in methods:
        e = got[name]
        if isinstance(e, NotApplicable):
            skip.append(dict(task=task["task"], model=labels["model"], replicate=labels["replicate"], method=name,
                             reason=e.reason))
            continue
        scores[name] = mod.unit_scores(e, explainer, name, task, x, target)
    table = localisation_table(scores, evidence)
    for col in ("task", "modality", "unit", "model", "replicate"):
        table.insert(LOCALISATION_TABLE_COLUMNS.index(col), col, task["unit"] if col == "unit" else labels[col])
    shown = list(range(min(int(n_shown), len(chosen))))
    ex = {"index": [int(chosen[i]) for i in shown], "inputs": [examples[i] for i in shown],
          "evidence": [torch.as_tensor(evidence[i]) for i in shown], "target": [int(target[i]) for i in shown],
          "scores": {m: [torch.as_tensor(np.asarray(s[i], dtype=np.float32)) for i in shown] for m, s in scores.items()}}
    return ScoredModel(reliance, verdict, table[LOCALISATION_TABLE_COLUMNS], pd.DataFrame(skip, columns=skipped.columns), ex)
