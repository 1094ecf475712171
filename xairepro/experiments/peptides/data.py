"""Hemolytic peptides as the chapter prepares them: one-hot with a gap channel, shuffled once, split.

The chapter's notebook stacks the positives and the negatives, seeds NumPy's legacy global generator
(``np.random.seed(0)``), permutes the index array once with ``np.random.shuffle`` and then takes the
first 10% for test and the next 10% for validation (the text copy of the chapter lost the shuffle
line; the book's notebook has it). :func:`load_peptides` makes that same permutation
(``np.random.RandomState(split_seed).shuffle``, the legacy algorithm, without touching the global
generator), so the split is the book's and is the same for every model seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...data.loaders import HEMOLYTIC_ALPHABET, load_hemolytic_onehot

__all__ = ["ALPHABET", "PeptideData", "book_order", "decode", "encode", "load_peptides"]

#: Channel 0 is the gap (padding) letter, channels 1..20 the amino acids (the chapter's ALPHABET).
ALPHABET = "-" + HEMOLYTIC_ALPHABET


@dataclass
class PeptideData:
    x: np.ndarray           # (N, L, 21) float32 one-hot, gap channel first, shuffled
    y: np.ndarray           # (N,) 1 hemolytic, 0 not
    order: np.ndarray       # row of the raw file (positives first) of each shuffled peptide
    split_seed: int         # seed of the one shuffle (the book's 0), the same for every model seed
    split: dict             # name -> indices into x: test, val, train

    @property
    def length(self) -> int:
        return int(self.x.shape[1])

    def dataset(self, name: str) -> torch.utils.data.TensorDataset:
        idx = self.split[name]
        return torch.utils.data.TensorDataset(torch.as_tensor(self.x[idx]),
                                              torch.as_tensor(self.y[idx], dtype=torch.float32).view(-1, 1))

    def sequences(self, name: str) -> list[str]:
        return [decode(self.x[i]) for i in self.split[name]]


def encode(seq: str, length: int) -> np.ndarray:
    """One peptide as a ``(length, 21)`` one-hot array, gap rows after the sequence."""
    bad = sorted(set(seq) - set(HEMOLYTIC_ALPHABET))
    if bad or not seq:
        raise ValueError(f"peptide {seq!r}: letters {bad} are not amino acids of {HEMOLYTIC_ALPHABET!r}")
    if len(seq) > length:
        raise ValueError(f"peptide {seq!r} is longer than the model's length {length}")
    ids = [ALPHABET.index(c) for c in seq] + [0] * (length - len(seq))
    return np.eye(len(ALPHABET), dtype=np.float32)[ids]


def decode(onehot: np.ndarray) -> str:
    return "".join(ALPHABET[i] for i in onehot.argmax(-1) if i != 0)


def book_order(n: int, split_seed: int = 0) -> np.ndarray:
    """The chapter's permutation of ``n`` stacked peptides: ``np.random.seed(split_seed)`` then
    ``np.random.shuffle(np.arange(n))`` with NumPy's legacy generator (a private ``RandomState``, the
    same stream, so the global generator is left alone)."""
    order = np.arange(n)
    np.random.RandomState(int(split_seed)).shuffle(order)
    return order


def load_peptides(path, *, test_fraction: float, val_fraction: float, split_seed: int = 0) -> PeptideData:
    """Label and stack the positives and negatives, add the gap channel, permute them once as the
    chapter's notebook does (:func:`book_order` with ``split_seed``, the book's 0; the split does not
    depend on the model seed), then take the first ``int(test_fraction * N)`` for test and the next
    ``int(val_fraction * N)`` for validation (the chapter: ``split = int(0.1 * N)`` for both)."""
    pos, neg = load_hemolytic_onehot(path)
    x = np.concatenate([pos, neg]).astype(np.float32)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.int64)
    gap = (x.sum(-1, keepdims=True) == 0).astype(np.float32)
    x = np.concatenate([gap, x], axis=-1)
    order = book_order(len(y), split_seed)
    x, y = x[order], y[order]
    n_test, n_val = int(test_fraction * len(y)), int(val_fraction * len(y))
    split = {"test": np.arange(n_test), "val": np.arange(n_test, n_test + n_val),
             "train": np.arange(n_test + n_val, len(y))}
    return PeptideData(x=x, y=y, order=order, split_seed=int(split_seed), split=split)
