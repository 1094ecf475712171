"""The chapter's explanations of one peptide: per-residue bars, Shapley convergence, counterfactuals.

Every method of ``attribution.methods`` (canonical names) explains the logit from one settings dict
(:func:`residue_settings`). What is explained is the peptide's residue rows ``(n, A)`` of its
one-hot input, the model seeing them followed by the peptide's own gap rows
(:class:`~xairepro.models.peptide_cnn.ResidueRows`): as the chapter restricts its Shapley swaps to
the residues, the padding stays fixed for every method. A residue's score is the sum over the
letters of its row (:func:`residue_unit`, a :class:`~xairepro.evaluation.units.TokenUnit` named
``residue``):

* gradient methods multiply by the input (``multiply_by_inputs``, zero baseline), so the sum over a
  one-hot row is the gradient at the residue's own letter, as the chapter plots it; integrated
  gradients (zero baseline: with no residue the bias-free model gives logit 0, so the residues'
  values add up to the logit; trapezoid rule) and SmoothGrad (Gaussian noise of sigma 1e-3 on the
  one-hot rows, clipped to [0, 1] and each row renormalised: :func:`simplex_projection`, the
  method's ``noise_projection``) alike;
* Shapley values use the chimera estimator (eq. 10.9) with the training peptides' first ``n`` rows
  as background and the residues as players (``feature_mask`` rows, additive: a row's letters share
  the residue's value), so the values add up to f(x) - E[f] over those chimeras;
* occlusion removes one residue row (the same groups), the random order is the floor.

Methods that cannot apply (BayesGrad without dropout, the mask where none is trained) come back as
:class:`~xairepro.experiments.methods.NotApplicable`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ...attribution import ShapleySampling, single_substitution_counterfactuals
from ...context import RunContext
from ...evaluation.units import TokenUnit
from ...models.peptide_cnn import ResidueRows
from ..methods import applicable, explain, not_applicable_rows
from .data import ALPHABET, PeptideData, encode

__all__ = ["CHAPTER_READING", "PeptideExplanation", "RESIDUE", "STUDY_STREAM", "counterfactuals", "explain_study",
           "residue_results", "seed_shapley_study", "shapley_reading",
           "residue_rows", "residue_settings", "residue_unit", "shapley_convergence", "shapley_convergence_study",
           "simplex_projection"]

#: The unit of every peptide reading (the faithfulness schema's ``unit``).
RESIDUE = "residue"
#: The chapter's study draws every method and the Shapley convergence with ``ctx.child(STUDY_STREAM)``,
#: the stream its Shapley values have always used (so the reproduction rows stay those of earlier runs).
STUDY_STREAM = 2


#: The chapter's reading of its Shapley bars for RAGLQFPVGRLLRRLLRRLLR ("predicted to be hemolytic
#: primarily because of the glutamine, proline, and arrangement of leucine and arginine"): the
#: residues at these 1-based positions are among the ``top`` residues by signed Shapley value.
CHAPTER_READING = {"peptide": "RAGLQFPVGRLLRRLLRRLLR", "positions": {5: "Q", 7: "P"}, "top": 3}


def residue_unit() -> TokenUnit:
    """Residues of a peptide given as letter ids ``(L,)``: the non-gap positions; a removed residue is
    the id ``len(ALPHABET)``, the all-zero row (:class:`~xairepro.models.peptide_cnn.IdsToOneHot`)."""
    return TokenUnit(pad_id=0, replacement=len(ALPHABET), name=RESIDUE)


def simplex_projection(v: torch.Tensor) -> torch.Tensor:
    """The chapter's SmoothGrad projection of a noisy one-hot row: clip to [0, 1], renormalise to sum 1."""
    v = v.clamp(0, 1)
    return v / v.sum(-1, keepdim=True).clamp_min(1e-12)


def residue_rows(model, x: torch.Tensor, n: int) -> tuple[ResidueRows, torch.Tensor]:
    """``(model on residue rows, the residue rows (1, n, A))`` of the peptide ``x`` ``(1, L, A)``."""
    return ResidueRows(model, x[0, n:]).eval(), x[:, :n]


def residue_settings(n: int, background: torch.Tensor, cfg: Mapping, *, ctx: RunContext) -> dict:
    """The one settings dict every method explaining the ``n`` residue rows of a peptide is built from.
    ``background``: the training peptides ``(N, L, A)``; ``cfg``: ``ig_steps``, ``smoothgrad_sigma``,
    ``n_random`` (default 5)."""
    return {"baselines": 0.0, "multiply_by_inputs": True, "n_steps": int(cfg["ig_steps"]), "method": "trapezoid",
            "stdevs": float(cfg["smoothgrad_sigma"]), "noise_mode": "absolute", "noise_projection": simplex_projection,
            "estimator": "chimera", "background": background[:, :n],
            "feature_mask": torch.arange(n, device=background.device).unsqueeze(1),
            "n_random": int(cfg.get("n_random", 5)), "max_batch": ctx.max_batch}


def residue_results(model, x: torch.Tensor, n: int, background: torch.Tensor, names: Sequence[str], cfg: Mapping, *,
                    M: int, seed: int, ctx: RunContext, seconds: dict | None = None) -> dict:
    """``{name: Explanation | NotApplicable}`` of the ``n`` residue rows of the peptide ``x`` ``(1, L, A)``
    for every method of ``names`` (``cfg``: the :func:`residue_settings` keys, optionally
    ``method_options``). The explanations are ``(M, 1, n, A)``; ``seconds`` (when given) gets each
    method's compute time added."""
    wrapped, residues = residue_rows(model, x, n)
    return explain(wrapped, residues, list(names), residue_settings(n, background, cfg, ctx=ctx), M=M, seed=seed,
                   method_options=cfg.get("method_options"), seconds=seconds)


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


def shapley_convergence_study(model, x: torch.Tensor, n: int, background: torch.Tensor, cfg: Mapping, *, M: int,
                              seed: int, ctx: RunContext) -> tuple[pd.DataFrame, float]:
    """The chapter's Fig. 10.1, a study of one method: the chimera Shapley values of the residues of
    ``x`` with the :func:`residue_settings`, their sum from the first m samples against f(x) - E[f].
    Returns the table and E[f] (the model over the background's first ``n`` rows with ``x``'s gap rows)."""
    wrapped, residues = residue_rows(model, x, n)
    settings = residue_settings(n, background, cfg, ctx=ctx)
    sv = ShapleySampling(wrapped, estimator="chimera", background=settings["background"],
                         feature_mask=settings["feature_mask"], max_batch=ctx.max_batch)
    explanation = sv.compute(residues, M=M, seed=seed)
    per = explanation.unit_samples(residue_unit(), [residues[0].argmax(-1).cpu()])[0]   # (M, n) per residue
    expected = _expected_f(wrapped, settings["background"], ctx.max_batch)
    return shapley_convergence(per, float(explanation.output[0, 0]), expected, cfg["shapley_counts"]), expected


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
    ``smoothgrad_sigma``, ``ig_steps``): the values, their sum, the logit and
    :func:`shapley_reading`. Samples draw with ``ctx.child(seed, STUDY_STREAM)`` (seed 0: the
    explanation study's stream)."""
    data: PeptideData = inputs["data"]
    seq = cfg["peptide"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    x = torch.as_tensor(encode(seq, data.length), device=device).unsqueeze(0)
    n = len(seq)
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    seed = ctx.child(int(inputs["seed"]), STUDY_STREAM).seed
    res = residue_results(model, x, n, background, ["shapley_sampling"], cfg, M=int(cfg["seed_samples"]), seed=seed,
                          ctx=ctx)["shapley_sampling"]
    values = res.units(residue_unit(), [x[0, :n].argmax(-1).cpu()])[0]
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
    residue), ``ig_steps``, ``smoothgrad_sigma``, ``shapley_counts``, optionally ``method_options``)."""
    data: PeptideData = inputs["data"]
    seq = cfg["peptide"]
    device = ctx.torch_device
    model = inputs["model"].to(device).eval()
    x = torch.as_tensor(encode(seq, data.length), device=device).unsqueeze(0)
    n, M = len(seq), int(cfg["samples"])
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    seed = ctx.child(STUDY_STREAM).seed
    results = residue_results(model, x, n, background, cfg["methods"], cfg, M=M, seed=seed, ctx=ctx)
    ids = [x[0, :n].argmax(-1).cpu()]
    unit = residue_unit()
    bars = pd.DataFrame({"position": np.arange(n), "residue": list(seq),
                         **{name: e.units(unit, ids)[0] for name, e in applicable(results).items()}})
    conv, expected = shapley_convergence_study(model, x, n, background, cfg, M=M, seed=seed, ctx=ctx)
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
