"""The chapter's explanations of one peptide: per-residue bars, Shapley convergence, counterfactuals.

Every method of ``attribution.methods`` (canonical names) explains the logit with the section's
Explainer (:func:`~.settings.explainer`: the peptide's residue rows of its one-hot input, the padding
fixed, a residue's score the sum over the letters of its row, :data:`~.settings.UNIT`). Methods that
cannot apply (BayesGrad without dropout, the mask where none is trained) come back as
:class:`~xairepro.experiments.explainer.NotApplicable`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import Explanation, single_substitution_counterfactuals
from ...context import RunContext
from ...models.peptide_cnn import ResidueRows
from ..explainer import applicable
from ..methods import not_applicable_rows
from .data import ALPHABET, PeptideData, encode
from .settings import UNIT, explainer

__all__ = ["CHAPTER_READING", "PeptideExplanation", "STUDY_STREAM", "counterfactuals", "explain_study",
           "seed_shapley_study", "shapley_convergence", "shapley_convergence_study", "shapley_reading"]

#: The chapter's study draws every method and the Shapley convergence with ``ctx.child(STUDY_STREAM)``,
#: the stream its Shapley values have always used (so the reproduction rows stay those of earlier runs).
STUDY_STREAM = 2


#: The chapter's reading of its Shapley bars for RAGLQFPVGRLLRRLLRRLLR ("predicted to be hemolytic
#: primarily because of the glutamine, proline, and arrangement of leucine and arginine"): the
#: residues at these 1-based positions are among the ``top`` residues by signed Shapley value.
CHAPTER_READING = {"peptide": "RAGLQFPVGRLLRRLLRRLLR", "positions": {5: "Q", 7: "P"}, "top": 3}


def shapley_convergence(per: np.ndarray, logit: float, expected: float, counts) -> pd.DataFrame:
    """Sum of the Shapley estimate from the first m samples, for each m (Fig. 10.1)."""
    rows = []
    for m in sorted({int(c) for c in counts if c <= len(per)} | {len(per)}):
        total = float(per[:m].mean(0).sum())
        rows.append({"samples": int(m), "shapley_sum": total, "f_x": logit, "f_x_minus_expected": logit - expected,
                     "rel_error": abs(total - (logit - expected)) / max(abs(logit - expected), 1e-12)})
    return pd.DataFrame(rows)


@torch.no_grad()
def _expected_f(model, residues: torch.Tensor, max_batch: int) -> float:
    return float(torch.cat([model(residues[i:i + max_batch]).view(-1)
                            for i in range(0, len(residues), max_batch)]).mean())


def shapley_convergence_study(shapley: Explanation, model, x: torch.Tensor, background: torch.Tensor, counts, *,
                              max_batch: int) -> tuple[pd.DataFrame, float]:
    """The chapter's Fig. 10.1, a study of one method: the chimera Shapley values ``shapley`` of the
    residues of the peptide ``x`` ``(1, L, A)``, their sum from the first m samples (m in ``counts``)
    against f(x) - E[f]. Returns the table and E[f] (the model over the background's first ``n`` rows
    followed by ``x``'s gap rows)."""
    ids = x[0].argmax(-1).cpu()
    n = UNIT.count(ids)
    per = shapley.unit_samples(UNIT, [ids[:n]])[0]   # (M, n) per residue, float32 as the samples
    expected = _expected_f(ResidueRows(model, x[0, n:]).eval(), background[:, :n], max_batch)
    return shapley_convergence(per, float(shapley.output[0, 0]), expected, counts), expected


def counterfactuals(model, x: torch.Tensor, n: int, seq: str, max_batch: int) -> pd.DataFrame:
    """Every single substitution (gap included, as the chapter enumerates all 21 letters) that
    flips the predicted class, closest to the decision boundary first."""
    flips = single_substitution_counterfactuals(lambda b: model(b).view(-1), x[0], list(ALPHABET),
                                                positions=range(n), max_batch=max_batch)
    rows = [{"position": f.position, "old": f.old, "new": f.new,
             "peptide": seq[:f.position] + f.new + seq[f.position + 1:],
             "logit_before": f.score_before, "logit_after": f.score_after} for f in flips]
    frame = pd.DataFrame(rows, columns=["position", "old", "new", "peptide", "logit_before", "logit_after"])
    return frame.assign(distance=frame["logit_after"].abs()).sort_values(
        ["distance", "position", "new"], kind="stable", ignore_index=True)


def shapley_reading(values, seq: str, reading: Mapping = CHAPTER_READING) -> dict:
    """The chapter's reading of one set of per-residue Shapley values of ``seq``: the ``top`` residues by
    signed value (towards hemolytic; also by magnitude) and whether every residue of
    ``reading['positions']`` (1-based) is among them. ``None`` readings when ``seq`` is not the
    chapter's peptide (the positions would name other residues)."""
    values = np.asarray(values, dtype=float)
    k = int(reading["top"])
    top = np.argsort(-values, kind="stable")[:k]
    top_abs = np.argsort(-np.abs(values), kind="stable")[:k]
    wanted = {int(p) - 1 for p in reading["positions"]}
    applies = seq == reading["peptide"] and all(seq[p - 1] == c for p, c in reading["positions"].items())
    return {"top": [int(i) + 1 for i in top], "top_residues": "".join(seq[i] for i in top),
            "top_abs": [int(i) + 1 for i in top_abs],
            "holds": bool(wanted <= set(top.tolist())) if applies else None,
            "holds_abs": bool(wanted <= set(top_abs.tolist())) if applies else None}


def seed_shapley_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """The chapter's Shapley bars of ``cfg['peptide']`` for one model seed (``inputs``: ``model``,
    ``data``, ``seed``; ``cfg``: ``peptide``, ``seed_samples`` (chimera samples per residue),
    ``method_options``): the values, their sum, the logit and
    :func:`shapley_reading`. Samples draw with ``ctx.child(seed, STUDY_STREAM)`` (seed 0: the
    explanation study's stream)."""
    data: PeptideData = inputs["data"]
    seq = cfg["peptide"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    x = torch.as_tensor(encode(seq, data.length), device=device).unsqueeze(0)
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    explain = explainer(model, cfg, background=background, ctx=ctx, methods=["shapley_sampling"],
                        samples="seed_samples", seed=ctx.child(int(inputs["seed"]), STUDY_STREAM).seed)
    ids = x[0].argmax(-1).cpu()
    values = explain.explain(ids.unsqueeze(0))["shapley_sampling"].units(UNIT, [ids])[0]
    with torch.no_grad():
        logit = float(model(x).view(-1)[0])
    return {"seed": int(inputs["seed"]), "peptide": seq, "samples": int(cfg["seed_samples"]), "logit": logit,
            "probability": float(1 / (1 + np.exp(-logit))), "shapley": [float(v) for v in values],
            "shapley_sum": float(values.sum()), **shapley_reading(values, seq),
            "torch_threads": int(torch.get_num_threads())}


@dataclass
class PeptideExplanation:
    """The chapter's study of one peptide: per-residue ``bars`` (one column per method that applied),
    the Shapley ``convergence`` table, the counterfactual ``flips``, the ``summary`` (JSON) and the
    methods that did not apply (``skipped``: method, reason)."""

    bars: pd.DataFrame
    convergence: pd.DataFrame
    flips: pd.DataFrame
    summary: dict
    skipped: pd.DataFrame


def explain_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> PeptideExplanation:
    """``inputs``: ``model``, ``data`` (:class:`~.data.PeptideData`). ``cfg``: the attribution section
    (``peptide``, ``methods``, ``samples`` (M of every sampling method, the Shapley samples per
    residue), ``method_options`` (integrated gradients' ``n_steps``, SmoothGrad's ``stdevs``) and
    ``sample_counts`` (Fig. 10.1's x axis))."""
    data: PeptideData = inputs["data"]
    seq = cfg["peptide"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    x = torch.as_tensor(encode(seq, data.length), device=device).unsqueeze(0)
    n = len(seq)
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    explain = explainer(model, cfg, background=background, ctx=ctx, seed=ctx.child(STUDY_STREAM).seed)
    ids = x[0].argmax(-1).cpu()
    results = explain.explain(ids.unsqueeze(0))
    bars = pd.DataFrame({"position": np.arange(n), "residue": list(seq),
                         **{name: e.units(UNIT, [ids])[0] for name, e in applicable(results).items()}})
    # Fig. 10.1 reads the bars' Shapley samples (the same draws) or, where the bars have none, its own
    shapley = results.get("shapley_sampling")
    if not isinstance(shapley, Explanation):
        shapley = explain.explain(ids.unsqueeze(0), names=["shapley_sampling"])["shapley_sampling"]
    conv, expected = shapley_convergence_study(shapley, model, x, background, cfg["sample_counts"],
                                               max_batch=ctx.max_batch)
    with torch.no_grad():
        logit = float(model(x).view(-1)[0])
    flips = counterfactuals(model, x, n, seq, ctx.max_batch)
    completeness = {name: float(e.path.rel_error[0]) for name, e in applicable(results).items() if e.path is not None}
    summary = {"peptide": seq, "logit": logit, "probability": float(1 / (1 + np.exp(-logit))),
               "expected_f": expected, "shapley_sum": float(conv["shapley_sum"].iloc[-1]),
               "shapley_rel_error": float(conv["rel_error"].iloc[-1]), "shapley_samples": int(conv["samples"].iloc[-1]),
               "completeness_rel_error": completeness, "n_flips": int(len(flips)),
               "closest_flips": flips.head(5)["peptide"].tolist()}
    skipped = pd.DataFrame(not_applicable_rows(results), columns=["method", "reason"])
    return PeptideExplanation(bars, conv, flips, summary, skipped)
