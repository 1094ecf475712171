"""Planting known evidence into data: the pure functions every known-answer task is made with.

Each function returns the planted data and a boolean *evidence* mask over the units of the planted
example (pixels, token positions, residue positions, feature columns) that is true exactly where
the planted pattern lies. The functions draw nothing: positions and classes come from the caller's
seeded generator (:mod:`xairepro.groundtruth.tasks`), so a fixed seed gives the same task.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

__all__ = ["class_patches", "class_tokens", "insert_tokens", "noise_columns", "paste_patches", "place_motifs",
           "token_positions", "motif_positions"]


def class_patches(n_classes: int, size: int, seed: int) -> torch.Tensor:
    """``(n_classes, 3, size, size)`` uint8 patterns, one per class: every pixel of every channel 0 or
    255 at random (a seeded generator), redrawn until the patterns differ pairwise in at least a
    quarter of their values (class-specific: no two classes share a pattern)."""
    if int(size) < 1 or int(n_classes) < 2:
        raise ValueError(f"class_patches: size >= 1 and n_classes >= 2 required, got size={size}, n_classes={n_classes}")
    gen = np.random.default_rng(int(seed))
    for _ in range(1000):
        p = gen.integers(0, 2, size=(int(n_classes), 3, int(size), int(size))).astype(np.uint8) * 255
        flat = p.reshape(len(p), -1).astype(int)
        diff = (flat[:, None, :] != flat[None, :, :]).mean(-1) + np.eye(len(p))
        if diff.min() >= 0.25:
            return torch.from_numpy(p)
    raise ValueError(f"class_patches: no {n_classes} distinct {size}x{size} patterns found")


def paste_patches(images: torch.Tensor, patches: torch.Tensor, classes: Sequence[int],
                  positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``images`` ``(N, C, H, W)`` (uint8 or float) with ``patches[classes[i]]`` pasted with its top-left
    corner at ``positions[i] = (row, col)``; returns ``(planted copy, evidence (N, H, W) bool)``.
    Positions must keep the patch inside the image."""
    images = torch.as_tensor(images)
    n, c, h, w = images.shape
    s = int(patches.shape[-1])
    positions = torch.as_tensor(positions).long().reshape(n, 2)
    classes = torch.as_tensor(classes).long().reshape(n)
    if (positions < 0).any() or (positions[:, 0] > h - s).any() or (positions[:, 1] > w - s).any():
        raise ValueError(f"paste_patches: a position puts the {s}x{s} patch outside the {h}x{w} image")
    out = images.clone()
    mask = torch.zeros(n, h, w, dtype=torch.bool)
    patches = patches.to(images.dtype) if images.dtype == torch.uint8 else patches.to(images.dtype) / 255.0
    for i in range(n):
        r, q = int(positions[i, 0]), int(positions[i, 1])
        out[i, :, r:r + s, q:q + s] = patches[int(classes[i])]
        mask[i, r:r + s, q:q + s] = True
    return out, mask


def class_tokens(vocab: Sequence[str], n_classes: int) -> list[str]:
    """``n_classes`` artificial words absent from ``vocab``: ``<planted_0>``, ``<planted_1>``, ..."""
    words = [f"<planted_{k}>" for k in range(int(n_classes))]
    taken = sorted(set(words) & set(vocab))
    if taken:
        raise ValueError(f"class_tokens: {taken} are already words of the vocabulary")
    return words


def token_positions(ids: torch.Tensor, pad_id: int, gen: np.random.Generator) -> np.ndarray:
    """One insertion position per right-padded review of ``ids`` ``(N, L)``: uniform over 0..its length
    (after the last word included), at most ``L - 1`` so the inserted word is kept."""
    lengths = (torch.as_tensor(ids) != int(pad_id)).sum(1).numpy()
    top = np.minimum(lengths, ids.shape[1] - 1)
    return np.floor(gen.random(len(lengths)) * (top + 1)).astype(np.int64)


def insert_tokens(ids: torch.Tensor, tokens: Sequence[int], positions: Sequence[int],
                  pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token ids ``(N, L)`` with ``tokens[i]`` inserted before position ``positions[i]`` of
    row ``i`` (the words after it move one place right; a review of ``L`` words loses its last);
    returns ``(planted ids, evidence (N, L) bool)``, true at the inserted word only."""
    ids = torch.as_tensor(ids).long()
    n, length = ids.shape
    out = ids.clone()
    mask = torch.zeros(n, length, dtype=torch.bool)
    for i in range(n):
        p = int(positions[i])
        words = int((ids[i] != int(pad_id)).sum())
        if not 0 <= p <= min(words, length - 1):
            raise ValueError(f"insert_tokens: row {i}: position {p} outside 0..{min(words, length - 1)}")
        out[i, p + 1:] = ids[i, p:length - 1]
        out[i, p] = int(tokens[i])
        mask[i, p] = True
    return out, mask


def motif_positions(ids: torch.Tensor, motif_len: int, gen: np.random.Generator, pad_id: int = 0) -> np.ndarray:
    """One start per peptide of ``ids`` ``(N, L)`` (residues first): uniform over the starts that keep a
    motif of ``motif_len`` residues inside the peptide."""
    lengths = (torch.as_tensor(ids) != int(pad_id)).sum(1).numpy()
    if (lengths < int(motif_len)).any():
        raise ValueError(f"motif_positions: a peptide is shorter than the motif ({motif_len} residues)")
    return np.floor(gen.random(len(lengths)) * (lengths - int(motif_len) + 1)).astype(np.int64)


def place_motifs(ids: torch.Tensor, motifs: Sequence[Sequence[int]], classes: Sequence[int],
                 positions: Sequence[int], pad_id: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Peptides as residue ids ``(N, L)`` with the residues from ``positions[i]`` on overwritten by
    ``motifs[classes[i]]`` (the peptide keeps its length); returns ``(planted ids, evidence (N, L) bool)``."""
    ids = torch.as_tensor(ids).long()
    out = ids.clone()
    mask = torch.zeros_like(ids, dtype=torch.bool)
    for i in range(len(ids)):
        motif = torch.as_tensor(list(motifs[int(classes[i])])).long()
        p, m = int(positions[i]), len(motif)
        if p < 0 or p + m > int((ids[i] != int(pad_id)).sum()):
            raise ValueError(f"place_motifs: row {i}: the motif at {p} runs past the peptide's residues")
        out[i, p:p + m] = motif
        mask[i, p:p + m] = True
    return out, mask


def noise_columns(x: np.ndarray, n_noise: int, gen: np.random.Generator) -> np.ndarray:
    """``n_noise`` columns that carry no information about the rows: each a column of ``x`` (chosen at
    random) with its values shuffled across the rows independently (the measurements' own
    distribution, no link to any label)."""
    x = np.asarray(x, dtype=np.float32)
    cols = gen.integers(0, x.shape[1], size=int(n_noise))
    return np.stack([gen.permutation(x[:, c]) for c in cols], axis=1) if n_noise else np.zeros((len(x), 0), np.float32)
