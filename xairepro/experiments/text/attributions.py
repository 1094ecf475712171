"""Word attributions of the IMDB BiGRU ("Gradients of counterfactuals" section 3.2 on a
sentiment model): every method of ``text.attribution.methods`` (canonical names, a user's own
included) at the token embeddings, explaining the softmax probability of the predicted class
(:mod:`.settings` says how the methods are set up, :mod:`.words` how a word's score is read).

Beside the word scores of every method, the study about integrated gradients itself: per review
the completeness of IG (its words add up to F(x) - F(0)), the scaling path (score and summed
gradient . embedding at every path point) of the first ``n_saturation`` reviews, the saturation
summary, and the counterfactuals paper's Figures 9-10 table of IG beside the gradient
(``vanilla_grad`` read as gradient . embedding) on the shortest reviews. These parts read the IG
explanation's path (``Explanation.path``), so ``methods`` must name ``integrated_gradients`` and
``vanilla_grad``. For the same shortest reviews, every sampled method's per-word mean and standard
deviation over its samples (BayesGrad's uncertainty, drawn beside the mean in the notebook).

The per-method word-score samples ``(M, n, T)`` are saved (:func:`save_scores`): the faithfulness
study reads them for the trained model rather than explaining the same reviews again.
"""
from __future__ import annotations

import dataclasses
import logging
from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...attribution import Explanation
from ...context import RunContext
from ...safe_io import atomic_torch_save, safe_torch_load
from ..explainer import applicable
from ..methods import not_applicable_rows
from .data import PAD_ID, TextCache, TextInputs, decode, predicted_classes, select_reviews
from .settings import UNIT, explainer
from .words import per_word

log = logging.getLogger(__name__)

__all__ = ["IG", "GRADIENT", "select_reviews", "predicted_classes", "word_attribution_study",
           "saturation_summary", "save_scores", "load_scores", "saved_explanations", "spread_examples"]

#: the two methods the completeness, saturation and Figures 9-10 outputs compare
IG, GRADIENT = "integrated_gradients", "vanilla_grad"


def word_attribution_study(inputs: TextInputs, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every method of ``cfg["methods"]`` on ``cfg["n_reviews"]`` seeded test reviews, in chunks of
    ``cfg["chunk"]`` (each cut after its longest review when the GRU is packed).

    Returns ``{"indices", "classes", "explanations": {method: Explanation of (M, n, T) word-score
    samples}, "scores": {method: (R, n, T) word scores}, "orders", "seconds", "attribution" (the
    config section, for the faithfulness study), "completeness", "path", "saturation" (DataFrames),
    "table": [...], "spread_examples": [...], "summary": {timings, completeness, methods that did not
    apply}}``.
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
    rows, path_rows = [], []

    def ig_rows(explanation, tokens, start):
        """Completeness rows of the chunk's reviews and scaling-path rows of the first n_saturation: of
        the method that integrates along a path (integrated gradients, ``Explanation.path``)."""
        path = explanation.path
        if path is None:
            return
        with torch.no_grad():
            emb = model.embedding(tokens.to(device)).float().cpu()
        path_grad = (path.interior_grads.float() * emb.unsqueeze(0)).sum((-1, -2))  # (steps, b)
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

    explanations = explainer(model, cfg, ctx=ctx, length=ids_all.shape[1], on_chunk=ig_rows).explain(ids_all,
                                                                                                     classes_all)
    seconds = dict(explanations.seconds)
    scores = per_word(explanations)
    completeness, path = pd.DataFrame(rows), pd.DataFrame(path_rows)
    completeness["gradient_sum"] = [float(row.sum()) for row in scores[GRADIENT][0]]
    shortest = np.argsort(completeness["n_words"].to_numpy(), kind="stable")[:int(cfg["n_table"])]
    table = _table(cache, idx, ids_all, scores, completeness, shortest)
    summary = {"n_reviews": n, "max_steps": int(completeness["steps"].max()),
               "median_rel_error": float(completeness["rel_error"].median()),
               "reviews_per_s": {m: n / s if s > 0 else None for m, s in seconds.items()}, "seconds": seconds,
               "device": str(device), "mc_samples": int(cfg["mc_samples"]), "methods": names,
               "not_applicable": {r["method"]: r["reason"] for r in not_applicable_rows(explanations)}}
    return {"indices": torch.as_tensor(idx), "classes": classes_all, "explanations": explanations,
            "scores": scores, "orders": {m: bool(e.each_sample_is_an_order) for m, e in applicable(explanations).items()},
            "seconds": seconds, "attribution": dict(cfg), "summary": summary, "completeness": completeness,
            "path": path, "table": table, "saturation": saturation_summary(path, completeness),
            "spread_examples": spread_examples(cache, idx, ids_all, explanations, shortest)}


def spread_examples(cache: TextCache, idx, ids_all, explanations: Mapping, which) -> list[dict]:
    """For the reviews ``which`` (positions among the attributed ones): the words and, for every
    method with several samples that are draws (SmoothGrad, BayesGrad, ...: not the random orders),
    each word's mean score and its standard deviation over the samples (BayesGrad's uncertainty),
    for the notebook's shading by mean and by sd."""
    sampled = {m: e for m, e in applicable(explanations).items() if e.M > 1 and not e.each_sample_is_an_order}
    out = []
    for i in which:
        i = int(i)
        review = ids_all[i]
        item = {"review": int(idx[i]), "review_id": int(cache.test_review_ids[idx[i]]),
                "label": int(cache.test_labels[idx[i]]), "words": decode(review, cache.vocab), "methods": {}}
        for m, e in sampled.items():
            one = dataclasses.replace(e, samples=e.samples[:, i:i + 1])
            item["methods"][m] = {"mean": one.units(UNIT, [review])[0].round(6).tolist(),
                                  "sd": one.unit_spread(UNIT, [review])[0].round(6).tolist(), "M": e.M}
        out.append(item)
    return out


def _table(cache, idx, ids_all, scores, completeness, which):
    """Figures 9-10 of the counterfactuals paper for the reviews ``which`` (the shortest attributed)."""
    out = []
    for i in which:
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
SCORE_KEYS = ("indices", "classes", "samples", "orders", "seconds", "attribution")


def save_scores(out: dict, path) -> None:
    """The word-score samples of :func:`word_attribution_study`, weights-only: reviews, predicted
    classes, per method the ``(M, n, T)`` word-score samples (the faithfulness study reuses them for
    the trained model instead of explaining it again: the same reviews, chunks and seeds) and its
    order flag and seconds, and the ``attribution`` config section the methods were built from (so
    that the faithfulness study builds every method, on the randomised models too, the same way)."""
    saved = {k: out[k] for k in ("indices", "classes", "orders", "seconds", "attribution")}
    saved["samples"] = {m: e.samples.float().contiguous() for m, e in applicable(out["explanations"]).items()}
    atomic_torch_save(saved, path)


def load_scores(path) -> dict:
    obj = safe_torch_load(path, "word-attribution file", "rerun the text_attribute rule")
    if not isinstance(obj, dict) or any(k not in obj for k in SCORE_KEYS):
        raise ValueError(f"{path}: not a word-attribution file of this version (keys {list(SCORE_KEYS)}); "
                         "rerun the text_attribute rule")
    return obj


def saved_explanations(saved: Mapping, n: int | None = None) -> dict[str, Explanation]:
    """The saved word-score samples as explanations (of the first ``n`` reviews)."""
    n = len(saved["indices"]) if n is None else int(n)
    return {m: Explanation(method=m, samples=s[:, :n], each_sample_is_an_order=bool(saved["orders"][m]))
            for m, s in saved["samples"].items()}
