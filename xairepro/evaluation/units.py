"""Units a person reads an explanation in (atoms, pixels, tokens, residues, characters, features),
and how to remove one.

An attribution method returns numbers at some tensor (an atom embedding, an image, a token
embedding, a one-hot sequence, a table row). A :class:`Unit` turns one example's attribution into
one score per unit (:meth:`Unit.reduce`, which :meth:`xairepro.attribution.Explanation.units`
calls) and knows how to evaluate the model with chosen units removed
(:meth:`Unit.forward_removed`), which is what the deletion and insertion curves of
:mod:`xairepro.evaluation.faithfulness` need. Attributions are additive in this project, so a
unit's score is the sum of its elements' attributions (pixels: of their magnitudes):

* :class:`AtomUnit`: an atom is removed by setting its embedding (the output of the model's
  embedding module) to the baseline, the same point integrated gradients starts from.
* :class:`PixelUnit`: a pixel is removed by setting all its channels to the baseline.
* :class:`TokenUnit`: a token (a word, a residue, a SMILES character) is removed by replacing it
  with a neutral token (padding by default).
* :class:`FeatureUnit`: a feature of a table row is removed by setting it to a baseline value.

Units never know which attribution method produced the scores.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..attribution import replace_layer

__all__ = ["AtomUnit", "FeatureUnit", "PixelUnit", "TokenUnit", "Unit"]


class Unit(ABC):
    """One kind of unit. ``removed`` masks are boolean ``(K, n_units)``: row k says which units are
    removed in copy k of the example."""

    name: str = "unit"

    @abstractmethod
    def count(self, example) -> int:
        """Number of units of one example."""

    @abstractmethod
    def reduce(self, attribution, example) -> np.ndarray:
        """One score per unit of ``example`` from its attribution at the unit's tensor."""

    @abstractmethod
    def forward_removed(self, model: nn.Module, examples: Sequence, removed: Sequence[Tensor]) -> Tensor:
        """Model outputs for every copy: ``(sum of K_i, n_out)``, copies of example i in order."""


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


class AtomUnit(Unit):
    """Atoms of a PyG graph; removal sets the atom's row of ``model.<layer>``'s output to ``baseline``."""

    name = "atom"

    def __init__(self, layer: str = "embedding", baseline: float = 0.0):
        self.layer, self.baseline = layer, float(baseline)

    def count(self, example) -> int:
        return int(example.num_nodes)

    def reduce(self, attribution, example=None) -> np.ndarray:
        a = _as_numpy(attribution)
        return a.sum(-1) if a.ndim == 2 else a

    def forward_removed(self, model, examples, removed):
        from torch_geometric.data import Batch

        copies, rows = [], []
        for g, r in zip(examples, removed):
            copies += [g] * r.shape[0]
            rows.append(r.reshape(-1))
        device = next(model.parameters()).device
        batch = Batch.from_data_list(copies).to(device)
        drop = torch.cat(rows).to(device)

        def remove(out):
            out = out.clone()
            out[drop] = self.baseline
            return out

        with replace_layer(getattr(model, self.layer), remove):
            return model(batch)


class PixelUnit(Unit):
    """Pixels of a ``(C, H, W)`` image; a unit's score is the sum over channels of |attribution|
    (the counterfactuals paper's pixel ablation); removal sets all channels to ``baseline``."""

    name = "pixel"

    def __init__(self, baseline: float = 0.0):
        self.baseline = float(baseline)

    def count(self, example) -> int:
        return int(example.shape[-1] * example.shape[-2])

    def reduce(self, attribution, example=None) -> np.ndarray:
        a = _as_numpy(attribution)
        return np.abs(a).sum(0).reshape(-1)

    def forward_removed(self, model, examples, removed):
        device = next(model.parameters()).device
        xs = []
        for x, r in zip(examples, removed):
            c, h, w = x.shape
            mask = r.view(-1, 1, h, w).to(device)
            base = x.to(device).unsqueeze(0).expand(r.shape[0], c, h, w)
            xs.append(torch.where(mask, torch.full_like(base, self.baseline), base))
        return model(torch.cat(xs))


class TokenUnit(Unit):
    """Tokens of a ``(L,)`` id sequence (words, residues, SMILES characters: ``name``); positions
    holding ``pad_id`` are not units. A unit's score is the sum over the channels of its row (the
    embedding, or the letters of a one-hot row); removal replaces the token with ``replacement``."""

    def __init__(self, pad_id: int = 0, replacement: int | None = None, name: str = "token"):
        self.pad_id = int(pad_id)
        self.replacement = int(pad_id if replacement is None else replacement)
        self.name = name

    def positions(self, example) -> Tensor:
        return torch.nonzero(torch.as_tensor(example) != self.pad_id).view(-1)

    def count(self, example) -> int:
        return int(self.positions(example).numel())

    def reduce(self, attribution, example) -> np.ndarray:
        a = _as_numpy(attribution)
        per_position = a.reshape(a.shape[0], -1).sum(-1) if a.ndim >= 2 else a
        return self.scores_at_units(example, per_position)

    def scores_at_units(self, example, per_position: np.ndarray) -> np.ndarray:
        """Per-position scores (length L, or the first positions of a trimmed batch) at the unit
        positions."""
        pos = self.positions(example).numpy()
        per_position = np.asarray(per_position)
        if len(per_position) < len(example):  # attributions of a batch trimmed to its longest example
            per_position = np.concatenate([per_position, np.zeros(len(example) - len(per_position))])
        return per_position[pos]

    def forward_removed(self, model, examples, removed):
        device = next(model.parameters()).device
        seqs = []
        for t, r in zip(examples, removed):
            t = torch.as_tensor(t).to(device)
            pos = self.positions(t)
            copies = t.unsqueeze(0).repeat(r.shape[0], 1)
            sub = copies[:, pos]
            sub[r.to(device)] = self.replacement
            copies[:, pos] = sub
            seqs.append(copies)
        return model(torch.cat(seqs))


class FeatureUnit(Unit):
    """Features of a ``(D,)`` table row; removal sets the feature to ``baseline`` (a float, or one
    value per feature such as the training mean)."""

    name = "feature"

    def __init__(self, baseline=0.0):
        self.baseline = baseline

    def count(self, example) -> int:
        return int(torch.as_tensor(example).numel())

    def reduce(self, attribution, example=None) -> np.ndarray:
        return _as_numpy(attribution).reshape(-1)

    def forward_removed(self, model, examples, removed):
        device = next(model.parameters()).device
        rows = []
        for x, r in zip(examples, removed):
            x = torch.as_tensor(x, dtype=torch.float32, device=device)
            base = torch.as_tensor(self.baseline, dtype=x.dtype, device=device).expand_as(x)
            rows.append(torch.where(r.to(device), base.unsqueeze(0), x.unsqueeze(0)))
        return model(torch.cat(rows))
