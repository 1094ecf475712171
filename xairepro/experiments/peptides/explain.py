"""The chapter's explanations of one peptide: per-residue bars, Shapley convergence, counterfactuals.

All four methods explain the logit. Gradient and integrated gradients (zero baseline, the point
where the bias-free model gives logit 0) are taken at the one-hot input and read at each residue's
own letter channel, as the chapter plots them. SmoothGrad follows the chapter: Gaussian noise
(sigma 1e-3) on the one-hot input, clipped to [0, 1] and renormalised so each row sums to one,
then the mean gradient at those points (the package's SmoothGrad adds noise without the clip, so
the noisy inputs are built here and differentiated with VanillaGrad). Shapley values use the
chimera estimator with the training peptides as background; only the residues of the peptide are
players (its gap rows stay fixed, as the chapter restricts the swaps), so the values add up to
f(x) - E[f(z)] over those chimeras.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import IntegratedGradients, ShapleySampling, VanillaGrad, single_substitution_counterfactuals
from ...context import RunContext
from .data import ALPHABET, PeptideData, encode

__all__ = ["METHODS", "residue_attributions", "shapley_values", "counterfactuals", "explain_peptide"]

METHODS = ("gradient", "integrated_gradients", "smoothgrad", "shapley")


def _at_letters(attr: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, L, A) attributions -> (B, L): the value at each row's own letter."""
    return attr.gather(-1, x.argmax(-1, keepdim=True)).squeeze(-1)


def smoothgrad_simplex(model, x: torch.Tensor, *, n_samples: int, sigma: float, seed: int,
                       max_batch: int) -> torch.Tensor:
    """The chapter's SmoothGrad for one one-hot example ``(1, L, A)``: ``(L, A)`` mean gradient."""
    gen = torch.Generator(device=x.device).manual_seed(int(seed))
    noisy = (x + sigma * torch.randn((n_samples, *x.shape[1:]), generator=gen, device=x.device)).clamp(0, 1)
    noisy = noisy / noisy.sum(-1, keepdim=True)
    grads = VanillaGrad(model, max_batch=max_batch).compute(noisy, seed=seed)[0]
    return grads.mean(0)


def _fixed_tail(model, x: torch.Tensor, n: int):
    """The model on the first ``n`` rows, the remaining rows of ``x`` held fixed."""
    tail = x[:, n:]

    def f(head):
        return model(torch.cat([head, tail.expand(head.shape[0], -1, -1)], dim=1))
    return f


def shapley_values(model, x: torch.Tensor, n: int, background: torch.Tensor, *, n_samples: int,
                   seed: int, max_batch: int) -> tuple[np.ndarray, np.ndarray, float]:
    """``(phi (n,), per-sample contributions (n_samples, n), E[f] over the chimeras' base)``."""
    f = _fixed_tail(model, x, n)
    sv = ShapleySampling(f, method="chimera", background=background[:, :n], n_samples=n_samples,
                         feature_mask=torch.arange(n).unsqueeze(1), max_batch=max_batch)
    per = sv.compute(x[:, :n], seed=seed)[:, 0, :, 0]                      # (M, n) players
    with torch.no_grad():
        expected = float(torch.cat([f(background[i:i + max_batch, :n])
                                    for i in range(0, len(background), max_batch)]).mean())
    return per.mean(0).cpu().numpy(), per.cpu().numpy(), expected


def residue_attributions(model, x: torch.Tensor, n: int, background: torch.Tensor, attribution: Mapping, *,
                         ctx: RunContext) -> tuple[dict[str, np.ndarray], dict]:
    """Per-residue scores of the four methods for one example ``(1, L, A)`` of length ``n``, plus the
    integrated-gradients completeness and the Shapley details."""
    model.eval()
    grad = VanillaGrad(model, max_batch=ctx.max_batch).compute(x, seed=ctx.seed)[0]
    ig = IntegratedGradients(model, steps=int(attribution["ig_steps"]), rule="trapezoid", max_batch=ctx.max_batch)
    ig_attr, ig_res = ig.compute(x, seed=ctx.seed, return_path=True)
    sg = smoothgrad_simplex(model, x, n_samples=int(attribution["smoothgrad_samples"]),
                            sigma=float(attribution["smoothgrad_sigma"]), seed=ctx.child(1).seed,
                            max_batch=ctx.max_batch).unsqueeze(0)
    phi, per, expected = shapley_values(model, x, n, background, n_samples=int(attribution["shapley_samples"]),
                                        seed=ctx.child(2).seed, max_batch=ctx.max_batch)
    scores = {"gradient": _at_letters(grad, x)[0, :n], "integrated_gradients": _at_letters(ig_attr[0], x)[0, :n],
              "smoothgrad": _at_letters(sg, x)[0, :n]}
    scores = {k: v.detach().cpu().numpy() for k, v in scores.items()}
    scores["shapley"] = phi
    extra = {"ig_rel_error": float(ig_res.rel_error[0]), "shapley_per_sample": per, "expected_f": expected}
    return scores, extra


def shapley_convergence(per: np.ndarray, logit: float, expected: float, counts) -> pd.DataFrame:
    """Sum of the Shapley estimate from the first m samples, for each m (Fig. 10.1)."""
    rows = []
    for m in sorted({int(c) for c in counts if c <= len(per)} | {len(per)}):
        total = float(per[:m].mean(0).sum())
        rows.append({"samples": int(m), "shapley_sum": total, "f_x": logit, "f_x_minus_expected": logit - expected,
                     "rel_error": abs(total - (logit - expected)) / max(abs(logit - expected), 1e-12)})
    return pd.DataFrame(rows)


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


def explain_peptide(model, data: PeptideData, seq: str, attribution: Mapping, *,
                    ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """(per-residue bars, Shapley convergence, counterfactual flips, summary) for ``seq``."""
    device = ctx.torch_device
    model = model.to(device).eval()
    x = torch.as_tensor(encode(seq, data.length), device=device).unsqueeze(0)
    background = torch.as_tensor(data.x[data.split["train"]], device=device)
    scores, extra = residue_attributions(model, x, len(seq), background, attribution, ctx=ctx)
    bars = pd.DataFrame({"position": np.arange(len(seq)), "residue": list(seq), **scores})
    with torch.no_grad():
        logit = float(model(x).view(-1)[0])
    counts = [int(c) for c in attribution["shapley_counts"]]
    conv = shapley_convergence(extra["shapley_per_sample"], logit, extra["expected_f"], counts)
    flips = counterfactuals(model, x, len(seq), seq, ctx.max_batch)
    summary = {"peptide": seq, "logit": logit, "probability": float(1 / (1 + np.exp(-logit))),
               "expected_f": extra["expected_f"], "shapley_sum": float(scores["shapley"].sum()),
               "shapley_rel_error": float(conv["rel_error"].iloc[-1]), "shapley_samples": int(conv["samples"].iloc[-1]),
               "ig_rel_error": extra["ig_rel_error"], "n_flips": int(len(flips)),
               "closest_flips": flips.head(5)["peptide"].tolist()}
    return bars, conv, flips, summary
