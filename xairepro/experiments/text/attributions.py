"""Word attributions of the IMDB BiGRU ("Gradients of counterfactuals" section 3.2 on a
sentiment model): every method of ``text.attribution.methods`` (canonical names, a user's own
included) at the token embeddings, explaining the softmax probability of the predicted class
(:mod:`.words` says how the methods are set up and how a word's score is read).

Beside the word scores of every method, the study about integrated gradients itself: per review
the completeness of IG (its words add up to F(x) - F(0)), the scaling path (score and summed
gradient . embedding at every path point) of the first ``n_saturation`` reviews, the saturation
summary, and the counterfactuals paper's Figures 9-10 table of IG beside the gradient
(``vanilla_grad`` read as gradient . embedding) on the shortest reviews. These parts read the IG
explanation's path (``Explanation.path``), so ``methods`` must name ``integrated_gradients`` and
``vanilla_grad``.
"""
from __future__ import annotations

import logging
from typing import Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...context import RunContext
from ...safe_io import atomic_torch_save, safe_torch_load
from ..methods import not_applicable_rows
from .data import PAD_ID, TextCache, TextInputs, decode
from .words import SoftmaxScore, build_methods, explain_words, method_settings, usable

log = logging.getLogger(__name__)

__all__ = ["IG", "GRADIENT", "SoftmaxScore", "select_reviews", "predicted_classes", "word_attribution_study",
           "saturation_summary", "save_scores", "load_scores"]

#: the two methods the completeness, saturation and Figures 9-10 outputs compare
IG, GRADIENT = "integrated_gradients", "vanilla_grad"


def select_reviews(cache: TextCache, n: int, seed: int) -> np.ndarray:
    """``n`` test-review indices drawn at random (seeded), sorted."""
    n = min(int(n), len(cache.test_ids))
    return np.sort(np.random.default_rng(seed).choice(len(cache.test_ids), size=n, replace=False))


@torch.no_grad()
def predicted_classes(model: nn.Module, ids: torch.Tensor, batch: int = 256) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(ids[i:i + batch].to(device)).argmax(1).cpu() for i in range(0, len(ids), batch)])


def word_attribution_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every method of ``cfg["methods"]`` on ``cfg["n_reviews"]`` seeded test reviews, in chunks of
    ``cfg["chunk"]`` (each cut after its longest review when the GRU is packed).

    Returns ``{"indices", "classes", "scores": {method: (R, n, T) word scores}, "orders",
    "attribution" (the config section, for the faithfulness study), "completeness", "path",
    "saturation" (DataFrames), "table": [...], "summary": {timings, completeness, methods that did
    not apply}}``.
    """
    names = list(cfg["methods"])
    missing = [m for m in (IG, GRADIENT) if m not in names]
    if missing:
        raise ValueError(f"text.attribution.methods must name {IG} and {GRADIENT} (the completeness, saturation "
                         f"and Figures 9-10 outputs compare them); missing {missing}")
    device = ctx.torch_device
    model = inputs.model.to(device).eval()
    cache = inputs.cache
    idx = select_reviews(cache, cfg["n_reviews"], ctx.seed)
    ids_all = cache.test_ids[idx]
    classes_all = predicted_classes(model, ids_all)
    n = len(idx)
    methods = build_methods(SoftmaxScore(model), names, method_settings(model, cfg, max_batch=ctx.max_batch),
                            cfg.get("method_options"))
    seconds = {name: 0.0 for name in usable(methods)}
    rows, path_rows = [], []
    chunk = int(cfg["chunk"])

    def ig_rows(k, tokens, got):
        """Completeness rows of the chunk's reviews and scaling-path rows of the first n_saturation."""
        path, start = got[IG].path, k * chunk
        with torch.no_grad():
            emb = model.embedding(tokens)
        path_grad = (path.interior_grads * emb.unsqueeze(0)).sum((-1, -2)).cpu()  # (steps, b)
        score, base, total = path.score.cpu(), path.baseline_score.cpu(), path.attribution_sum.cpu()
        abs_err, rel_err, scores = path.abs_error.cpu(), path.rel_error.cpu(), path.path_scores.cpu()
        for j in range(tokens.shape[0]):
            i = start + j
            rows.append({"review": int(idx[i]), "review_id": int(cache.test_review_ids[idx[i]]),
                         "label": int(cache.test_labels[idx[i]]), "predicted": int(classes_all[i]),
                         "n_words": int((ids_all[i] != PAD_ID).sum()), "score": float(score[j]),
                         "baseline_score": float(base[j]), "ig_sum": float(total[j]),
                         "abs_error": float(abs_err[j]), "rel_error": float(rel_err[j]), "steps": path.n_steps})
            if i < int(cfg["n_saturation"]):
                path_rows.extend({"review": int(idx[i]), "alpha": float(a), "score": float(scores[s, j]),
                                 "gradient_sum": float(path_grad[s, j])} for s, a in enumerate(path.alphas.tolist()))
        log.info("reviews %d-%d of %d: IG with %d steps, median completeness error %.3g%%", start,
                 start + tokens.shape[0], n, path.n_steps, 100 * float(path.rel_error.double().quantile(0.5)))

    words = explain_words(usable(methods), ids_all, classes_all, M=int(cfg["mc_samples"]), chunk=chunk, ctx=ctx,
                          trim=bool(getattr(model, "packed", False)), seconds=seconds, on_chunk=ig_rows)
    completeness, path = pd.DataFrame(rows), pd.DataFrame(path_rows)
    completeness["gradient_sum"] = [float(row.sum()) for row in words["scores"][GRADIENT][0]]
    table = _table(cache, idx, ids_all, words["scores"], completeness, int(cfg["n_table"]))
    summary = {"n_reviews": n, "max_steps": int(completeness["steps"].max()),
               "median_rel_error": float(completeness["rel_error"].median()),
               "reviews_per_s": {m: n / s if s > 0 else None for m, s in seconds.items()}, "seconds": seconds,
               "device": str(device), "mc_samples": int(cfg["mc_samples"]), "methods": names,
               "not_applicable": {r["method"]: r["reason"] for r in not_applicable_rows(methods)}}
    return {"indices": torch.as_tensor(idx), "classes": classes_all, "scores": words["scores"],
            "orders": words["orders"], "attribution": dict(cfg), "summary": summary, "completeness": completeness,
            "path": path, "table": table, "saturation": saturation_summary(path, completeness)}


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
                    IG: scores[IG][0, i].numpy()[keep].tolist(),
                    GRADIENT: scores[GRADIENT][0, i].numpy()[keep].tolist()})
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


#: what :func:`save_scores` keeps: everything the faithfulness study reads
SCORE_KEYS = ("indices", "classes", "scores", "orders", "attribution")


def save_scores(out: dict, path) -> None:
    """The word scores of :func:`word_attribution_study` (reviews, predicted classes, ``(R, n, T)``
    scores and order flags per method, and the ``attribution`` config section the methods were
    built from, so that the faithfulness study builds any further method the same way), weights-only."""
    atomic_torch_save({k: out[k] for k in SCORE_KEYS}, path)


def load_scores(path) -> dict:
    obj = safe_torch_load(path, "word-attribution file", "rerun the text_attribute rule")
    if not isinstance(obj, dict) or any(k not in obj for k in SCORE_KEYS):
        raise ValueError(f"{path}: not a word-attribution file of this version (keys {list(SCORE_KEYS)}); "
                         "rerun the text_attribute rule")
    return obj
