"""Hemolytic peptides as the chapter prepares them: one-hot with a gap channel, shuffled, split."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ...data.loaders import HEMOLYTIC_ALPHABET, load_hemolytic_onehot

__all__ = ["ALPHABET", "PeptideData", "encode", "load_peptides"]

#: Channel 0 is the gap (padding) letter, channels 1..20 the amino acids (the chapter's ALPHABET).
ALPHABET = "-" + HEMOLYTIC_ALPHABET


@dataclass
class PeptideData:
    x: np.ndarray           # (N, L, 21) float32 one-hot, gap channel first, shuffled
    y: np.ndarray           # (N,) 1 hemolytic, 0 not
    order: np.ndarray       # row of the raw file (positives first) of each shuffled peptide
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


def load_peptides(path, *, test_fraction: float, val_fraction: float, seed: int) -> PeptideData:
    """Label and stack the positives and negatives, add the gap channel, shuffle with ``seed``
    (the chapter's code builds the index but never permutes it: its test set would be all
    hemolytic), then take ``test_fraction`` for test, the next ``val_fraction`` for validation."""
    pos, neg = load_hemolytic_onehot(path)
    x = np.concatenate([pos, neg]).astype(np.float32)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.int64)
    gap = (x.sum(-1, keepdims=True) == 0).astype(np.float32)
    x = np.concatenate([gap, x], axis=-1)
    order = np.random.default_rng(seed).permutation(len(y))
    x, y = x[order], y[order]
    n_test, n_val = int(test_fraction * len(y)), int(val_fraction * len(y))
    split = {"test": np.arange(n_test), "val": np.arange(n_test, n_test + n_val),
             "train": np.arange(n_test + n_val, len(y))}
    return PeptideData(x=x, y=y, order=order, split=split)
