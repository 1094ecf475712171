"""IMDB text pipeline: HTML stripped, tokenized, a vocabulary of the most frequent training
tokens plus padding (id 0) and out-of-vocabulary (id 1), reviews cut to ``max_len`` tokens and
cached as integer tensors, so that training and attribution never tokenize again.

The cache (:func:`prepare`) holds the token ids ``(n, max_len)`` (right-padded with 0), labels,
review ids and ratings of the train and test reviews used, the vocabulary and, when GloVe vectors
are configured, the embedding matrix initialised from them.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...data.loaders import load_aclimdb, load_glove
from ...evaluation.units import TokenUnit
from ...safe_io import atomic_torch_save, safe_torch_load

log = logging.getLogger(__name__)

__all__ = ["PAD", "OOV", "PAD_ID", "OOV_ID", "TextCache", "TextInputs", "tokenize", "build_vocab", "encode",
           "sample_reviews", "glove_matrix", "prepare", "load_cache", "decode", "UNIT", "select_reviews", "predicted_classes"]

PAD, OOV = "<pad>", "<oov>"
PAD_ID, OOV_ID = 0, 1
#: the unit of both text studies: a word, removed by replacing its token with padding
UNIT = TokenUnit(pad_id=PAD_ID, name="word")
_HTML_TAG = re.compile(r"<[^>]{0,40}>")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[!?]")


def tokenize(text: str) -> list[str]:
    """Lower-cased words (inner apostrophes kept: ``don't``), ``!`` and ``?``; HTML tags such as
    ``<br />`` are removed first, every other character separates tokens."""
    return _TOKEN.findall(_HTML_TAG.sub(" ", text).lower())


def build_vocab(token_lists: Sequence[Sequence[str]], size: int) -> list[str]:
    """``[PAD, OOV]`` plus the ``size`` most frequent tokens (ties broken alphabetically)."""
    if size < 1:
        raise ValueError(f"text.data.vocab_size must be >= 1, got {size}")
    counts = Counter(t for tokens in token_lists for t in tokens)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:size]
    return [PAD, OOV] + [w for w, _ in ranked]


def encode(token_lists: Sequence[Sequence[str]], vocab: Sequence[str], max_len: int) -> torch.Tensor:
    """``(n, max_len)`` int64 ids: the first ``max_len`` tokens, unknown ones as OOV, right-padded."""
    index = {w: i for i, w in enumerate(vocab)}
    out = torch.full((len(token_lists), max_len), PAD_ID, dtype=torch.long)
    for row, tokens in enumerate(token_lists):
        ids = [index.get(t, OOV_ID) for t in tokens[:max_len]]
        if ids:
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
    return out


def decode(ids, vocab: Sequence[str]) -> list[str]:
    """The words of one id sequence, padding left out."""
    return [vocab[int(i)] for i in ids if int(i) != PAD_ID]


def sample_reviews(frame: pd.DataFrame, n: int | None, seed: int) -> pd.DataFrame:
    """A seeded, class-balanced random subset of ``n`` reviews (all of them when ``n`` is None or
    at least the frame's size), in random order. Consecutive aclImdb ids often review the same
    film, so the subset is drawn at random rather than taken from the start."""
    rng = np.random.default_rng(seed)
    if n is None or n >= len(frame):
        return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    parts = []
    for label, want in ((0, n // 2), (1, n - n // 2)):
        idx = np.flatnonzero(frame["label"].to_numpy() == label)
        parts.append(rng.choice(idx, size=min(want, len(idx)), replace=False))
    picked = np.concatenate(parts)
    return frame.iloc[rng.permutation(picked)].reset_index(drop=True)


def glove_matrix(vectors: Mapping[str, np.ndarray], vocab: Sequence[str], dim: int, seed: int
                 ) -> tuple[torch.Tensor, int]:
    """``(len(vocab), dim)`` embedding: GloVe rows where the word has a vector, small seeded normal
    rows elsewhere, zeros for padding. Returns the matrix and the number of words found."""
    rng = np.random.default_rng(seed)
    weight = rng.normal(0.0, 0.1, size=(len(vocab), dim)).astype(np.float32)
    weight[PAD_ID] = 0.0
    found = 0
    for i, word in enumerate(vocab):
        vec = vectors.get(word)
        if vec is None or i == PAD_ID:
            continue
        if vec.shape[0] != dim:
            raise ValueError(f"GloVe vector of {word!r} has {vec.shape[0]} dimensions; the model's "
                             f"embedding (text.models.<name>.embed_dim) has {dim}")
        weight[i] = vec
        found += 1
    return torch.from_numpy(weight), found


@dataclass
class TextCache:
    """The cached, tokenized data set (see :func:`prepare`)."""

    vocab: list[str]
    train_ids: torch.Tensor
    train_labels: torch.Tensor
    test_ids: torch.Tensor
    test_labels: torch.Tensor
    test_review_ids: torch.Tensor
    test_ratings: torch.Tensor
    max_len: int
    glove: torch.Tensor | None = None

    def train_dataset(self):
        return torch.utils.data.TensorDataset(self.train_ids, self.train_labels)

    def test_dataset(self):
        return torch.utils.data.TensorDataset(self.test_ids, self.test_labels)


@dataclass
class TextInputs:
    """What a text study reads (``<name>_study(inputs, cfg, *, ctx)``): the classifier and the token
    cache; the faithfulness study also the word scores the attribution study saved
    (:func:`~xairepro.experiments.text.attributions.load_scores`) and the trained mask networks
    ``{reading: net}`` (:func:`~xairepro.experiments.text.masks.load_mask_net`; the first reading is
    the paper's ``explanation_mask``; empty: the mask does not apply).
    ``model_name`` is the classifier's key in ``text.models``, as the result tables name it."""

    model: torch.nn.Module
    cache: TextCache
    scores: Optional[Mapping[str, Any]] = None
    mask_nets: Optional[Mapping[str, torch.nn.Module]] = None
    model_name: str = "bigru"


def _token_lists(frame: pd.DataFrame) -> list[list[str]]:
    return [tokenize(t) for t in frame["text"]]


def prepare(imdb_path, data_cfg: Mapping, seed: int, glove_path=None, embed_dim: int = 100
            ) -> tuple[dict, dict]:
    """Read aclImdb, subset, tokenize, build the vocabulary, encode; optionally GloVe.

    ``data_cfg`` keys: ``n_train``, ``n_test`` (reviews per split, null for all 25,000),
    ``vocab_size``, ``max_len``, ``glove`` (bool). Returns ``(cache dict for save_cache, summary)``.
    """
    for key in ("n_train", "n_test", "vocab_size", "max_len"):
        if key not in data_cfg:
            raise KeyError(f"text.data.{key} is missing from the configuration")
    if int(data_cfg["max_len"]) < 1:
        raise ValueError(f"text.data.max_len must be >= 1, got {data_cfg['max_len']}")
    train = sample_reviews(load_aclimdb(imdb_path, "train"), data_cfg["n_train"], seed)
    test = sample_reviews(load_aclimdb(imdb_path, "test"), data_cfg["n_test"], seed + 1)
    train_tokens, test_tokens = _token_lists(train), _token_lists(test)
    vocab = build_vocab(train_tokens, int(data_cfg["vocab_size"]))
    max_len = int(data_cfg["max_len"])
    train_ids, test_ids = encode(train_tokens, vocab, max_len), encode(test_tokens, vocab, max_len)
    lengths = np.array([len(t) for t in train_tokens + test_tokens])
    summary = {"n_train": len(train), "n_test": len(test), "vocab_size": len(vocab), "max_len": max_len,
               "median_tokens": float(np.median(lengths)), "share_cut": float((lengths > max_len).mean()),
               "test_oov_rate": float((test_ids == OOV_ID).sum() / max((test_ids != PAD_ID).sum(), 1)),
               "train_positive": int(train["label"].sum()), "test_positive": int(test["label"].sum())}
    glove = None
    if data_cfg.get("glove"):
        if glove_path is None:
            raise ValueError("text.data.glove is true but no GloVe file was given")
        vectors = load_glove(glove_path, vocab=set(vocab), member=f"glove.6B.{embed_dim}d.txt")
        glove, found = glove_matrix(vectors, vocab, embed_dim, seed)
        summary["glove_found"] = found
        summary["glove_note"] = f"embedding initialised from GloVe for {found:,} of {len(vocab):,} words"
    else:
        summary["glove_note"] = ("no GloVe vectors configured (text.data.glove: false): the embedding "
                                 "is trained from a random initialisation")
    log.info("%s", summary["glove_note"])
    col = lambda frame, name: torch.tensor(frame[name].to_numpy(), dtype=torch.long)  # noqa: E731
    cache = {"vocab": vocab, "train_ids": train_ids, "train_labels": col(train, "label"),
             "test_ids": test_ids, "test_labels": col(test, "label"), "test_review_ids": col(test, "id"),
             "test_ratings": col(test, "rating"), "max_len": max_len, "glove": glove}
    return cache, summary


def save_cache(cache: dict, path) -> None:
    """Write the token cache as plain tensors, lists and strings, atomically."""
    atomic_torch_save(cache, path)


def load_cache(path) -> TextCache:
    """The cache :func:`save_cache` wrote (weights-only); a clear error when it is not one."""
    obj = safe_torch_load(path, "text token cache", "rerun the text_prepare rule")
    if not isinstance(obj, dict) or "train_ids" not in obj:
        raise ValueError(f"{path}: not a text token cache (written by xairepro.experiments.text.data.prepare)")
    return TextCache(**obj)


def select_reviews(cache: TextCache, n: int, seed: int) -> np.ndarray:
    """``n`` test-review indices drawn at random (seeded), sorted."""
    n = min(int(n), len(cache.test_ids))
    return np.sort(np.random.default_rng(seed).choice(len(cache.test_ids), size=n, replace=False))


@torch.no_grad()
def predicted_classes(model: nn.Module, ids: torch.Tensor, batch: int = 256) -> torch.Tensor:
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model(ids[i:i + batch].to(device)).argmax(1).cpu() for i in range(0, len(ids), batch)])
