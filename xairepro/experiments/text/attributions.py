"""Word attributions of the IMDB BiGRU ("Gradients of counterfactuals" section 3.2 on a
sentiment model): integrated gradients, gradient, SmoothGrad, BayesGrad and occlusion, all at the
token embeddings (``target=model.embedding``) and all explaining the softmax probability of the
predicted class, as the paper explains softmax scores.

A word's score is the attribution summed over its embedding channels. For the gradient methods
that is ``gradient . embedding``: the derivative of the score with respect to a weight that scales
the word's embedding, evaluated at weight 1, which is the "gradient" row of the paper's
Figures 9-10. Integrated gradients start from the zero embedding (every word scaled to 0); the
number of path points doubles from ``ig_steps`` until the median completeness error of a chunk is
within ``completeness_tol`` (or ``ig_max_steps`` is reached). Occlusion sets one word's embedding
to zero (the padding embedding) and records the drop in the score.
"""
from __future__ import annotations

import logging
import time
from typing import Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...attribution import BayesGrad, IntegratedGradients, Occlusion, SmoothGrad, VanillaGrad
from ...context import RunContext
from .data import PAD_ID, TextCache, decode
from ...safe_io import atomic_torch_save, safe_torch_load
from ...progress import progress

log = logging.getLogger(__name__)

__all__ = ["SoftmaxScore", "select_reviews", "predicted_classes", "word_attributions", "saturation_summary",
           "METHODS"]

METHODS = ("ig", "gradient", "smoothgrad", "bayesgrad", "occlusion")


class SoftmaxScore(nn.Module):
    """The classifier with a softmax on top: the score every method explains."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, tokens):
        return torch.softmax(self.model(tokens).float(), -1)


def select_reviews(cache: TextCache, n: int, seed: int) -> np.ndarray:
    """``n`` test-review indices drawn at random (seeded), sorted."""
    n = min(int(n), len(cache.test_ids))
    return np.sort(np.random.default_rng(seed).choice(len(cache.test_ids), size=n, replace=False))


@torch.no_grad()
def predicted_classes(model: nn.Module, ids: torch.Tensor, batch: int = 256) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(ids[i:i + batch].to(device)).argmax(1).cpu() for i in range(0, len(ids), batch)])


def _trim(model: nn.Module, ids: torch.Tensor) -> torch.Tensor:
    """Drop the columns after the chunk's longest review; only for a packed GRU, whose output does
    not depend on trailing padding."""
    if not getattr(model, "packed", False):
        return ids
    last = int(((ids != PAD_ID).long() * torch.arange(1, ids.shape[1] + 1)).amax())
    return ids[:, : max(last, 1)]


def _ig_chunk(score_model, target, ids, classes, cfg, ctx):
    steps = int(cfg["ig_steps"])
    while True:
        ig = IntegratedGradients(score_model, target, baseline=0.0, steps=steps, rule="trapezoid",
                                 target_class=classes, max_batch=ctx.max_batch)
        samples, res = ig.compute(ids, return_path=True)
        if float(res.rel_error.double().quantile(0.5)) <= cfg["completeness_tol"] or 2 * steps > int(cfg["ig_max_steps"]):
            return samples[0], res, steps
        steps *= 2


def word_attributions(model: nn.Module, cache: TextCache, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every method on ``cfg["n_reviews"]`` seeded test reviews, in chunks of ``cfg["chunk"]``.

    Returns ``{"indices", "classes", "scores": {method: (n, max_len) per-position}, "completeness",
    "path", "saturation" (DataFrames), "table": [...], "summary": {timings, completeness}}``.
    """
    device = ctx.torch_device
    model = model.to(device).eval()
    score_model = SoftmaxScore(model)
    idx = select_reviews(cache, cfg["n_reviews"], ctx.seed)
    ids_all = cache.test_ids[idx]
    classes_all = predicted_classes(model, ids_all)
    n, t_max = ids_all.shape
    scores = {m: torch.zeros(n, t_max) for m in METHODS}
    timing = {m: 0.0 for m in METHODS}
    rows, path_rows = [], []
    chunk = int(cfg["chunk"])
    for start in progress(range(0, n, chunk), "attribution chunks", unit="chunk"):
        sl = slice(start, min(n, start + chunk))
        ids = _trim(model, ids_all[sl]).to(device)
        classes = classes_all[sl].to(device)
        t = ids.shape[1]
        t0 = time.perf_counter()
        ig_attr, res, steps = _ig_chunk(score_model, model.embedding, ids, classes, cfg, ctx)
        timing["ig"] += time.perf_counter() - t0
        scores["ig"][sl, :t] = ig_attr.sum(-1).cpu()
        emb = model.embedding(ids).detach()
        path_grad = (res.interior_grads * emb.unsqueeze(0)).sum((-1, -2)).cpu()  # (steps, b)
        methods = {
            "gradient": (VanillaGrad(score_model, model.embedding, target_class=classes, multiply_by_inputs=True,
                                     max_batch=ctx.max_batch), 1),
            "smoothgrad": (SmoothGrad(score_model, model.embedding, noise=cfg["smoothgrad_noise"],
                                      target_class=classes, multiply_by_inputs=True, max_batch=ctx.max_batch),
                           int(cfg["mc_samples"])),
            "bayesgrad": (BayesGrad(score_model, model.embedding, target_class=classes, multiply_by_inputs=True,
                                    max_batch=ctx.max_batch), int(cfg["mc_samples"])),
            "occlusion": (Occlusion(score_model, model.embedding, window="rows", baseline=0.0,
                                    target_class=classes, max_batch=ctx.max_batch), 1),
        }
        for name, (method, m) in methods.items():
            t0 = time.perf_counter()
            out = method.compute(ids, M=m, seed=ctx.child(start // chunk).seed)
            per_word = out.mean(0)[..., 0] if name == "occlusion" else out.mean(0).sum(-1)
            scores[name][sl, :t] = per_word.cpu()
            timing[name] += time.perf_counter() - t0
        for j in range(ids.shape[0]):
            i = start + j
            rows.append({"review": int(idx[i]), "review_id": int(cache.test_review_ids[idx[i]]),
                         "label": int(cache.test_labels[idx[i]]), "predicted": int(classes_all[i]),
                         "n_words": int((ids_all[i] != PAD_ID).sum()), "score": float(res.score[j]),
                         "baseline_score": float(res.baseline_score[j]), "ig_sum": float(res.attribution_sum[j]),
                         "abs_error": float(res.abs_error[j]), "rel_error": float(res.rel_error[j]),
                         "steps": steps, "gradient_sum": float(scores["gradient"][i].sum())})
            if i < int(cfg["n_saturation"]):
                path_rows += [{"review": int(idx[i]), "alpha": float(a), "score": float(res.path_scores[k, j]),
                               "gradient_sum": float(path_grad[k, j])} for k, a in enumerate(res.alphas)]
        log.info("reviews %d-%d of %d: IG with %d steps, median completeness error %.3g%%",
                 start, sl.stop, n, steps, 100 * float(res.rel_error.double().quantile(0.5)))
    completeness, path = pd.DataFrame(rows), pd.DataFrame(path_rows)
    table = _table(cache, idx, ids_all, scores, completeness, int(cfg["n_table"]))
    summary = {"n_reviews": n, "max_steps": int(completeness["steps"].max()),
               "median_rel_error": float(completeness["rel_error"].median()),
               "reviews_per_s": {m: n / s if s > 0 else None for m, s in timing.items()}, "seconds": timing,
               "device": str(device), "mc_samples": int(cfg["mc_samples"])}
    return {"indices": torch.as_tensor(idx), "classes": classes_all, "scores": scores, "summary": summary,
            "completeness": completeness, "path": path, "table": table,
            "saturation": saturation_summary(path, completeness)}


def _table(cache, idx, ids_all, scores, completeness, n_table):
    """Figures 9-10 of the counterfactuals paper for the ``n_table`` shortest attributed reviews."""
    order = np.argsort(completeness["n_words"].to_numpy(), kind="stable")[:n_table]
    out = []
    for i in order:
        keep = (ids_all[i] != PAD_ID).numpy()
        row = completeness.iloc[int(i)]
        out.append({"review": int(idx[i]), "review_id": int(row["review_id"]), "label": int(row["label"]),
                    "predicted": int(row["predicted"]), "prediction": float(row["score"]),
                    "baseline_score": float(row["baseline_score"]), "total_ig": float(row["ig_sum"]),
                    "total_gradient": float(row["gradient_sum"]), "words": decode(ids_all[i], cache.vocab),
                    "ig": scores["ig"][i].numpy()[keep].tolist(),
                    "gradient": scores["gradient"][i].numpy()[keep].tolist()})
    return out


def saturation_summary(path: pd.DataFrame, completeness: pd.DataFrame, tail: float = 0.9) -> pd.DataFrame:
    """Per review: the share of the score change F(x) - F(0) made on alpha in [tail, 1] (a path
    without saturation makes about 1 - tail of it there), and |sum of gradient . x at the input|
    relative to |total integrated gradient| (tiny gradients at the input under saturation)."""
    rows = []
    comp = completeness.set_index("review")
    for review, g in path.groupby("review", sort=False):
        g = g.sort_values("alpha")
        a, s = g["alpha"].to_numpy(), g["score"].to_numpy()
        total = s[-1] - s[0]
        s_tail = float(np.interp(tail, a, s))
        ig_total = float(comp.loc[review, "ig_sum"])
        rows.append({"review": int(review), "score_change": float(total),
                     "tail_share": float((s[-1] - s_tail) / total) if total != 0 else float("nan"),
                     "gradient_to_ig": abs(float(comp.loc[review, "gradient_sum"])) / max(abs(ig_total), 1e-12)})
    return pd.DataFrame(rows)


def save_scores(out: dict, path) -> None:
    """The per-position scores of :func:`word_attributions` (indices, classes, scores), weights-only."""
    atomic_torch_save({k: out[k] for k in ("indices", "classes", "scores")}, path)


def load_scores(path) -> dict:
    return safe_torch_load(path, "word-attribution file", "rerun the text_attribute rule")
