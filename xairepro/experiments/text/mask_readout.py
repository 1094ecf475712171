"""What a trained IMDB explanation mask says, read from its word weights: masked accuracy, the top
words per sentiment with their polarity in the training reviews, shaded example reviews, the
normalised entropy of the weights, and the gathering of every mask seed into stability tables
(:func:`mask_seed_tables`). The networks and their training are in :mod:`.masks`."""
from __future__ import annotations

import itertools
import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from .data import OOV_ID, PAD_ID, TextCache, decode

__all__ = ["POLARITY_RATIO", "TOP_K", "mask_examples", "mask_seed_tables", "masked_evaluation",
           "normalised_entropy", "polar_shares", "top_words", "word_polarity"]

#: the words of a class counted by the top-words claim (the paper's Figure 3 shows five per class)
TOP_K = 5
#: a top word "carries its class's sentiment" when it occurs in at least this many times the share
#: of the training reviews of that class as of the other class (document frequency, add-one smoothed)
POLARITY_RATIO = 2.0


def masked_evaluation(weights, masked, plain, labels: torch.Tensor) -> dict:
    keep = weights > 0
    return {"masked_accuracy": float((masked.argmax(1) == labels).float().mean()),
            "unmasked_accuracy": float((plain.argmax(1) == labels).float().mean()),
            "agreement": float((masked.argmax(1) == plain.argmax(1)).float().mean()),
            "mean_weight": float(weights[keep].mean()), "share_above_half": float((weights[keep] > 0.5).float().mean()),
            "n_test": int(len(labels))}


def top_words(weights: torch.Tensor, ids: torch.Tensor, labels: torch.Tensor, vocab, *, k: int, min_count: int
              ) -> pd.DataFrame:
    """Per sentiment (the review's label): the ``k`` words with the highest mean mask weight over
    their occurrences in reviews of that sentiment, among words seen at least ``min_count`` times
    there (padding and out-of-vocabulary left out)."""
    rows = []
    for label, name in ((1, "positive"), (0, "negative")):
        sel = labels == label
        tok, w = ids[sel].reshape(-1), weights[sel].reshape(-1)
        ok = (tok != PAD_ID) & (tok != OOV_ID)
        tok, w = tok[ok], w[ok].double()
        n = int(tok.max()) + 1 if len(tok) else 1
        sums = torch.zeros(n, dtype=torch.float64).index_add_(0, tok, w)
        counts = torch.bincount(tok, minlength=n)
        mean = torch.where(counts >= min_count, sums / counts.clamp_min(1), torch.full_like(sums, -1.0))
        order = torch.argsort(mean, descending=True, stable=True)[:k]
        rows += [{"sentiment": name, "rank": r + 1, "word": vocab[int(i)], "id": int(i), "mean_weight": float(mean[i]),
                  "count": int(counts[i])} for r, i in enumerate(order) if mean[i] >= 0]
    return pd.DataFrame(rows, columns=["sentiment", "rank", "word", "id", "mean_weight", "count"])


def word_polarity(ids: torch.Tensor, labels: torch.Tensor, vocab_size: int) -> np.ndarray:
    """Per vocabulary id, log(share of positive reviews containing it / share of negative ones),
    add-one smoothed (document frequency: a word counts once per review). Computed on the training
    reviews, never on the test reviews the mask is read on."""
    srt = torch.sort(ids, dim=1).values
    first = torch.ones_like(srt, dtype=torch.bool)
    first[:, 1:] = srt[:, 1:] != srt[:, :-1]
    out = []
    for label in (1, 0):
        sel = (labels == label).unsqueeze(1) & first
        df = torch.bincount(srt[sel], minlength=vocab_size).double()
        out.append((df + 1.0) / (float((labels == label).sum()) + 2.0))
    return torch.log(out[0] / out[1]).numpy()


def polar_shares(top: pd.DataFrame, polarity: np.ndarray, *, k: int = TOP_K, ratio: float = POLARITY_RATIO) -> dict:
    """The share of the top ``k`` words of positive reviews whose polarity is at least ``log(ratio)``
    (they lean positive), and of negative reviews at most ``-log(ratio)``."""
    out = {}
    for sentiment, sign in (("positive", 1.0), ("negative", -1.0)):
        ids = top[top["sentiment"] == sentiment].sort_values("rank")["id"].head(k).to_numpy(int)
        out[f"top{k}_{sentiment}_polar"] = float(np.mean(sign * polarity[ids] >= math.log(ratio))) if len(ids) else float("nan")
    return out


def mask_examples(weights, masked, plain, cache: TextCache, indices) -> list[dict]:
    """Words and mask weights of chosen test reviews, for the shaded HTML in the notebook."""
    out = []
    for i in indices:
        keep = (cache.test_ids[i] != PAD_ID).numpy()
        out.append({"review": int(i), "review_id": int(cache.test_review_ids[i]), "label": int(cache.test_labels[i]),
                    "predicted": int(plain[i].argmax()), "masked_predicted": int(masked[i].argmax()),
                    "probability": float(plain[i].max()), "masked_probability": float(masked[i, plain[i].argmax()]),
                    "words": decode(cache.test_ids[i], cache.vocab),
                    "weights": weights[i].numpy()[keep].round(4).tolist()})
    return out


def normalised_entropy(weights: torch.Tensor) -> float:
    """Median normalised entropy of per-review mask weights (padding = 0), for the summary."""
    vals = []
    for w in weights:
        w = w[w > 0].double()
        if len(w) < 2:
            continue
        p = w / w.sum()
        vals.append(float(-(p * p.log()).sum() / math.log(len(w))))
    return float(np.median(vals)) if vals else float("nan")


def mask_seed_tables(metrics: Sequence[Mapping], tops: Sequence[pd.DataFrame], *, k: int = TOP_K
                     ) -> dict[str, pd.DataFrame]:
    """The mask seeds of every reading gathered: ``seeds`` (one row per reading and seed: its
    metrics), ``top_words`` (every seed's ranked words with ``reading`` and ``seed``), ``stability``
    (per reading, sentiment and word among any seed's top ``k``: the share of seeds that rank it
    there, its median rank where it is), ``jaccard`` (per reading and sentiment: the mean pairwise
    Jaccard index of the seeds' top-``k`` sets and the number of seeds)."""
    seeds = pd.DataFrame([dict(m) for m in metrics])
    words = pd.concat([t.assign(reading=m["reading"], seed=m["seed"]) for m, t in zip(metrics, tops)],
                      ignore_index=True) if tops else pd.DataFrame()
    stab, jac = [], []
    for (reading, sentiment), g in words.groupby(["reading", "sentiment"], sort=False):
        n_seeds = int(seeds[seeds["reading"] == reading]["seed"].nunique())
        sets = {s: set(h.sort_values("rank")["word"].head(k)) for s, h in g.groupby("seed")}
        top = g[g["rank"] <= k]
        for word, h in top.groupby("word"):
            stab.append({"reading": reading, "sentiment": sentiment, "word": word,
                         "share_of_seeds": h["seed"].nunique() / n_seeds, "median_rank": float(h["rank"].median()),
                         "polarity": float(h["polarity"].iloc[0]) if "polarity" in h else float("nan")})
        pairs = [len(a & b) / len(a | b) for a, b in itertools.combinations(sets.values(), 2) if a | b]
        jac.append({"reading": reading, "sentiment": sentiment, "n_seeds": n_seeds,
                    "mean_jaccard": float(np.mean(pairs)) if pairs else float("nan")})
    stability = pd.DataFrame(stab, columns=["reading", "sentiment", "word", "share_of_seeds", "median_rank", "polarity"])
    stability = stability.sort_values(["reading", "sentiment", "share_of_seeds", "median_rank"],
                                      ascending=[True, True, False, True], kind="stable", ignore_index=True)
    return {"seeds": seeds, "top_words": words, "stability": stability,
            "jaccard": pd.DataFrame(jac, columns=["reading", "sentiment", "n_seeds", "mean_jaccard"])}
