"""Units a person reads an explanation in (atoms, pixels, tokens, residues, characters, features),
and how to remove one.

An attribution method returns numbers at some tensor (an atom embedding, an image, a token
embedding, a one-hot sequence, a table row). A :class:`Unit` turns one example's attribution into
one score per unit (:meth:`Unit.reduce`, which :meth:`xairepro.attribution.Explanation.units`
calls) and evaluates the model with chosen units removed (:meth:`Unit.forward_removed`), which is
what the deletion and insertion curves of :mod:`xairepro.evaluation.faithfulness` need. Attributions
are additive in this project, so a unit's score is the sum of its elements' attributions (pixels: of
their magnitudes).

*How* a unit is removed is the unit's removal operator (:mod:`.operators`; its name is the unit's
``operator``). Every unit is built with the operator ``baseline``:

* :class:`AtomUnit`: an atom is removed by setting its embedding (the output of the model's
  embedding module) to the baseline, the same point integrated gradients starts from.
* :class:`PixelUnit`: a pixel is removed by setting all its channels to the baseline.
* :class:`TokenUnit`: a token (a word, a residue, a SMILES character) is removed by replacing it
  with a neutral token (padding by default).
* :class:`FeatureUnit`: a feature of a table row is removed by setting it to a baseline value.

:meth:`Unit.with_operator` (or :func:`.operators.bind_operator` by name) gives the same unit with
another operator. Units never know which attribution method produced the scores.
"""
from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .operators import AtomBaseline, FeatureBaseline, Operator, PixelBaseline, TokenBaseline

__all__ = ["AtomUnit", "FeatureUnit", "PixelUnit", "TokenUnit", "Unit"]


class Unit(ABC):
    """One kind of unit. ``removed`` masks are boolean ``(K, n_units)``: row k says which units are
    removed in copy k of the example. ``kind``: what operators apply to it
    (:data:`~.operators.UNIT_KINDS`); ``removal``: its :class:`~.operators.Operator`."""

    name: str = "unit"
    kind: str = "unit"
    removal: Optional[Operator] = None

    @property
    def operator(self) -> str:
        """The name of the unit's removal operator (``baseline``: the unit's own removal)."""
        return "baseline" if self.removal is None else self.removal.name

    def with_operator(self, operator: Operator) -> "Unit":
        """A copy of this unit that removes with ``operator`` (registered for this unit's kind)."""
        if operator.unit_kind != self.kind:
            raise ValueError(f"operator {operator.name!r} removes {operator.unit_kind or 'unregistered'} units; "
                             f"{self.name} is a {self.kind} unit")
        bound = copy.copy(self)
        bound.removal = operator
        return bound

    @abstractmethod
    def count(self, example) -> int:
        """Number of units of one example."""

    @abstractmethod
    def reduce(self, attribution, example) -> np.ndarray:
        """One score per unit of ``example`` from its attribution at the unit's tensor."""

    def forward_removed(self, model: nn.Module, examples: Sequence, removed: Sequence[Tensor]) -> Tensor:
        """Model outputs for every copy: ``(sum of K_i, n_out)``, copies of example i in order, with
        the removed units removed by the unit's operator."""
        if self.removal is None:
            raise NotImplementedError(f"{type(self).__name__} has no removal operator")
        return self.removal.forward_removed(self, model, examples, removed)


def _as_numpy(a) -> np.ndarray:
    return a.detach().cpu().numpy() if isinstance(a, Tensor) else np.asarray(a)


class AtomUnit(Unit):
    """Atoms of a PyG graph; removal sets the atom's row of ``model.<layer>``'s output to ``baseline``."""

    name = kind = "atom"

    def __init__(self, layer: str = "embedding", baseline: float = 0.0):
        self.layer, self.baseline = layer, float(baseline)
        self.removal = AtomBaseline(self.baseline)

    def count(self, example) -> int:
        return int(example.num_nodes)

    def reduce(self, attribution, example=None) -> np.ndarray:
        a = _as_numpy(attribution)
        return a.sum(-1) if a.ndim == 2 else a


class PixelUnit(Unit):
    """Pixels of a ``(C, H, W)`` image; a unit's score is the sum over channels of |attribution|
    (the counterfactuals paper's pixel ablation); removal sets all channels to ``baseline``."""

    name = kind = "pixel"

    def __init__(self, baseline: float = 0.0):
        self.baseline = float(baseline)
        self.removal = PixelBaseline(self.baseline)

    def count(self, example) -> int:
        return int(example.shape[-1] * example.shape[-2])

    def reduce(self, attribution, example=None) -> np.ndarray:
        a = _as_numpy(attribution)
        return np.abs(a).sum(0).reshape(-1)


class TokenUnit(Unit):
    """Tokens of a ``(L,)`` id sequence (words, residues, SMILES characters: ``name``); positions
    holding ``pad_id`` are not units. A unit's score is the sum over the channels of its row (the
    embedding, or the letters of a one-hot row); removal replaces the token with ``replacement``."""

    kind = "token"

    def __init__(self, pad_id: int = 0, replacement: int | None = None, name: str = "token"):
        self.pad_id = int(pad_id)
        self.replacement = int(pad_id if replacement is None else replacement)
        self.name = name
        self.removal = TokenBaseline(self.replacement)

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


class FeatureUnit(Unit):
    """Features of a ``(D,)`` table row; removal sets the feature to ``baseline`` (a float, or one
    value per feature such as the training mean)."""

    name = kind = "feature"

    def __init__(self, baseline=0.0):
        self.baseline = baseline
        self.removal = FeatureBaseline(baseline)

    def count(self, example) -> int:
        return int(torch.as_tensor(example).numel())

    def reduce(self, attribution, example=None) -> np.ndarray:
        return _as_numpy(attribution).reshape(-1)
