"""Removal operators: a unit (:mod:`.units`) says *which* parts of an example are removed, an operator
says *how*. Each operator is a class registered under a name for one unit kind
(:func:`register_operator`), so a user adds their own the way they add an attribution method:

    @register_operator("my_fill", unit="pixel")
    class MyFill(PixelOperator):
        def fill(self, images, removed, keys):
            return images.masked_fill(removed.unsqueeze(1), 0.5)

A :class:`~.units.Unit` carries one operator (its ``operator`` is the operator's name, ``baseline``
unless bound to another) and its ``forward_removed`` applies it; :func:`bind_operator` and
:func:`bind_operators` give the same unit with other operators, built from an experiment's training
statistics (:func:`create_operator` passes each operator the statistics its constructor names).

The unit kinds and their built-in operators:

* ``pixel``: ``baseline`` (a fixed value, black by default), ``mean_colour`` (the training images'
  mean colour), ``blur`` (the Gaussian-blurred image), ``road`` (ROAD's noisy linear imputation,
  Rong et al. 2022: in distribution);
* ``token``: ``baseline`` (a fixed token, padding by default), ``oov`` (the out-of-vocabulary token),
  ``draw`` (a symbol drawn from the training distribution: in distribution), ``delete`` (the
  token is taken out: the tokens after it shift left, padding fills the end);
* ``atom``: ``baseline`` (the atom's embedding set to a value), ``mean_embedding`` (to the
  training-mean embedding), ``delete`` (the atom and its bonds leave the graph);
* ``feature``: ``baseline`` (a fixed value per feature), ``zero``, ``mean`` (the training mean),
  ``draw`` (a random training row's value of the feature: in distribution).

Every operator evaluates all copies of all examples in one forward pass. Stochastic operators draw
per example from a seed made of their ``seed`` and the example's content (:func:`example_seed`): the
same on every rerun and whatever the batching, and the same draws at every step of an example's
curve (a unit removed at step k is filled with the same value at every later step).
"""
from __future__ import annotations

import hashlib
import inspect
import re
from abc import ABC, abstractmethod
from typing import Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from ..attribution import replace_layer
from .imputation import gaussian_blur, linear_imputation

__all__ = ["AtomEmbeddingOperator", "FeatureOperator", "Operator", "PixelOperator", "TokenOperator", "UNIT_KINDS",
           "bind_operator", "bind_operators", "create_operator", "describe_operators", "example_seed", "operator_class",
           "operator_names",
           "register_operator", "symbol_frequencies"]

#: The unit kinds an operator applies to (a :class:`~.units.Unit`'s ``kind``).
UNIT_KINDS = ("atom", "pixel", "token", "feature")
_REGISTRY: dict[tuple[str, str], type] = {}


class Operator(ABC):
    """How units of one kind are removed. ``forward_removed(unit, model, examples, removed)``: the
    model's outputs for every copy (``removed[i]``: ``(K_i, n_units)`` booleans, copy k of example i),
    ``(sum of K_i, n_out)``, in one forward pass. ``name`` and ``unit_kind`` are set by
    :func:`register_operator`; ``in_distribution`` says whether the filled input stays close to the
    training data (ROAD's argument, Rong et al. 2022)."""

    name: str = ""
    unit_kind: str = ""
    in_distribution: bool = False

    @abstractmethod
    def forward_removed(self, unit, model, examples: Sequence, removed: Sequence[Tensor]) -> Tensor:
        """Model outputs of every copy, copies of example i in order."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, unit={self.unit_kind!r})"


def register_operator(name: str, *, unit: str):
    """Class decorator: register an :class:`Operator` subclass as ``name`` for units of kind ``unit``
    (one of :data:`UNIT_KINDS`). One name may be registered once per kind."""
    if unit not in UNIT_KINDS:
        raise ValueError(f"register_operator({name!r}): unit must be one of {UNIT_KINDS}, got {unit!r}")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
        raise ValueError(f"register_operator: name must be lower-case letters, digits and _, got {name!r}")

    def register(cls):
        if not (isinstance(cls, type) and issubclass(cls, Operator)):
            raise TypeError(f"register_operator({name!r}): {cls!r} is not an Operator subclass")
        held = _REGISTRY.get((name, unit))
        if held is not None and held is not cls:
            raise ValueError(f"operator {name!r} is already registered for {unit} units ({held.__qualname__})")
        cls.name, cls.unit_kind = name, unit
        _REGISTRY[(name, unit)] = cls
        return cls

    return register


def operator_names(unit: Optional[str] = None) -> list[str]:
    """Registered operator names (of one unit kind, or of any), sorted."""
    return sorted({n for n, k in _REGISTRY if unit is None or k == unit})


def operator_class(name: str, unit: str) -> type:
    """The operator class registered as ``name`` for ``unit`` units; raises naming the registered ones."""
    try:
        return _REGISTRY[(name, unit)]
    except KeyError:
        raise ValueError(f"no removal operator {name!r} for {unit} units; registered: "
                         f"{', '.join(operator_names(unit)) or 'none'}") from None


def describe_operators(unit: Optional[str] = None) -> list[dict]:
    """One row per registered operator (of one unit kind, or of all): ``unit``, ``operator``,
    ``in_distribution`` and ``description`` (the first line of its docstring), for tables and pages."""
    rows = []
    for (name, kind), cls in sorted(_REGISTRY.items(), key=lambda item: (item[0][1], item[0][0])):
        if unit is None or kind == unit:
            doc = (cls.__doc__ or "").strip().split("\n\n")[0]
            rows.append({"unit": kind, "operator": name, "in_distribution": bool(cls.in_distribution),
                         "description": " ".join(doc.split())})
    return rows


def create_operator(name: str, unit: str, statistics: Optional[Mapping] = None, **params) -> Operator:
    """The operator ``name`` for ``unit`` units, built from the entries of ``statistics`` (an
    experiment's training statistics) and ``params`` its constructor names; raises naming what a
    required argument is missing."""
    cls = operator_class(name, unit)
    given = {**dict(statistics or {}), **params}
    signature = inspect.signature(cls.__init__)
    accepted = [p for p in list(signature.parameters.values())[1:]
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    missing = [p.name for p in accepted if p.default is p.empty and p.name not in given]
    if missing:
        raise ValueError(f"operator {name!r} ({unit} units) needs {missing}; the statistics given hold "
                         f"{sorted(given) or 'nothing'}")
    return cls(**{p.name: given[p.name] for p in accepted if p.name in given})


def bind_operator(unit, operator, statistics: Optional[Mapping] = None, **params):
    """``unit`` with ``operator`` (an :class:`Operator`, or a registered name built by
    :func:`create_operator` for the unit's kind) as its way of removal."""
    if not isinstance(operator, Operator):
        operator = create_operator(str(operator), unit.kind, statistics, **params)
    return unit.with_operator(operator)


def bind_operators(unit, names: Sequence[str], statistics: Optional[Mapping] = None, *, key: str = "operators") -> dict:
    """``{name: unit bound to that operator}`` in the order of ``names``; the unit's own operator
    (``baseline``) is the unit itself, unchanged. Errors name the config ``key``."""
    if isinstance(names, str) or not len(names):
        raise ValueError(f"{key}: expected a non-empty list of operator names, got {names!r}")
    out = {}
    for name in names:
        if name in out:
            raise ValueError(f"{key}: operator {name!r} listed twice")
        if name == unit.operator:
            out[name] = unit
            continue
        try:
            out[name] = bind_operator(unit, name, statistics)
        except ValueError as err:
            raise ValueError(f"{key}: {err}") from None
    return out


def example_seed(example, seed: int = 0) -> int:
    """A 63-bit seed from ``seed`` and the content of ``example`` (a tensor, an array, or a graph's
    ``x`` and ``edge_index``): the same for the same example on every run and device."""
    h = hashlib.blake2b(str(int(seed)).encode(), digest_size=8)
    parts = [example.x, example.edge_index] if hasattr(example, "edge_index") else [example]
    for part in parts:
        a = part.detach().cpu().numpy() if isinstance(part, Tensor) else np.asarray(part)
        h.update(str(a.dtype).encode() + str(a.shape).encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return int.from_bytes(h.digest(), "little") & (2 ** 63 - 1)


def _per_example(keys: Sequence[int], draw) -> Tensor:
    """``draw(generator)`` once per distinct key (a CPU generator seeded with it), stacked per copy."""
    made: dict[int, Tensor] = {}
    for k in keys:
        if k not in made:
            made[k] = draw(torch.Generator().manual_seed(int(k)))
    return torch.stack([made[k] for k in keys])


def symbol_frequencies(ids, n_symbols: int, exclude: Sequence[int] = ()) -> Tensor:
    """How often each id ``0..n_symbols-1`` occurs in ``ids`` (any shape), the ``exclude`` ids
    (padding) set to 0, as probabilities: the training distribution :class:`TokenDraw` draws from."""
    counts = torch.bincount(torch.as_tensor(np.asarray(ids)).reshape(-1).long(), minlength=int(n_symbols)).double()
    counts[list(exclude)] = 0
    if counts.sum() <= 0:
        raise ValueError("symbol_frequencies: no symbol left to draw from")
    return counts / counts.sum()


def _device(model) -> torch.device:
    return next(model.parameters()).device


class _Stochastic:
    """Mixin of the operators that draw: their ``seed`` and the per-copy keys of a batch."""

    seed: int = 0

    def keys(self, examples: Sequence, removed: Sequence[Tensor]) -> list[int]:
        out = []
        for ex, r in zip(examples, removed):
            out += [example_seed(ex, self.seed)] * int(r.shape[0])
        return out


# ---------------------------------------------------------------------------------------- pixels
class PixelOperator(Operator):
    """Removes pixels of ``(C, H, W)`` images: :meth:`fill` gets every copy ``(K, C, H, W)``, the
    removed pixels ``(K, H, W)`` and the copies' example seeds (``None`` for an operator that does not
    draw), and returns the filled images the model reads."""

    @abstractmethod
    def fill(self, images: Tensor, removed: Tensor, keys: Optional[list[int]]) -> Tensor:
        """The copies with their removed pixels filled."""

    def forward_removed(self, unit, model, examples, removed):
        device = _device(model)
        images, masks = [], []
        for x, r in zip(examples, removed):
            c, h, w = x.shape
            images.append(x.to(device).unsqueeze(0).expand(r.shape[0], c, h, w))
            masks.append(r.view(-1, h, w).to(device))
        keys = self.keys(examples, removed) if isinstance(self, _Stochastic) else None
        return model(self.fill(torch.cat(images), torch.cat(masks), keys))


@register_operator("baseline", unit="pixel")
class PixelBaseline(PixelOperator):
    """All channels of a removed pixel set to ``value`` (a number, or one per channel)."""

    def __init__(self, value=0.0):
        self.value = value

    def fill(self, images, removed, keys):
        value = torch.as_tensor(self.value, dtype=images.dtype, device=images.device)
        if value.dim() == 0:
            filled = torch.full_like(images, float(value))
        else:
            filled = value.view(1, -1, 1, 1).expand_as(images)
        return torch.where(removed.unsqueeze(1), filled, images)


@register_operator("mean_colour", unit="pixel")
class MeanColour(PixelBaseline):
    """A removed pixel takes the training images' mean colour ``(C,)``."""

    def __init__(self, mean_colour):
        super().__init__(torch.as_tensor(mean_colour, dtype=torch.float32).reshape(-1))


@register_operator("blur", unit="pixel")
class Blur(PixelOperator):
    """A removed pixel takes the value of the image blurred by a Gaussian of ``sigma`` pixels (Fong
    and Vedaldi 2017's blur perturbation)."""

    def __init__(self, sigma: float = 2.0):
        self.sigma = float(sigma)

    def fill(self, images, removed, keys):
        return torch.where(removed.unsqueeze(1), gaussian_blur(images, self.sigma), images)


@register_operator("road", unit="pixel")
class NoisyLinearImputation(_Stochastic, PixelOperator):
    """ROAD's noisy linear imputation (Rong et al. 2022): removed pixels solve the neighbour-average
    equations (:func:`~.imputation.linear_imputation`), plus Gaussian noise of sd ``noise`` (ROAD's
    0.01, on [0, 1] images) drawn per example (seed ``seed`` and the image). An image with every
    pixel removed takes ``mean_colour`` (default 0) plus the noise."""

    in_distribution = True

    def __init__(self, noise: float = 0.01, mean_colour=None, seed: int = 0):
        self.noise, self.seed = float(noise), int(seed)
        self.mean_colour = None if mean_colour is None else np.asarray(mean_colour, dtype=np.float64).reshape(-1)

    def fill(self, images, removed, keys):
        values = linear_imputation(images.detach().cpu().numpy(), removed.cpu().numpy(), self.mean_colour)
        values = torch.as_tensor(values)
        if self.noise:
            shape = tuple(images.shape[1:])
            noise = _per_example(keys, lambda g: torch.randn(shape, generator=g, dtype=torch.float64))
            values = values + self.noise * noise.permute(0, 2, 3, 1)[removed.cpu()]
        filled = images.permute(0, 2, 3, 1).clone()
        filled[removed] = values.to(images.device, images.dtype)
        return filled.permute(0, 3, 1, 2)


# ---------------------------------------------------------------------------------------- tokens
class TokenOperator(Operator):
    """Removes tokens of ``(L,)`` id sequences: :meth:`replace` gets every copy ``(K, L)``, the removed
    positions ``(K, L)`` (never a non-unit position) and the copies' example seeds (``None`` for an
    operator that does not draw), and returns the sequences the model reads."""

    @abstractmethod
    def replace(self, unit, tokens: Tensor, removed: Tensor, keys: Optional[list[int]]) -> Tensor:
        """The copies with their removed tokens replaced (or taken out)."""

    def forward_removed(self, unit, model, examples, removed):
        device = _device(model)
        seqs, masks = [], []
        for t, r in zip(examples, removed):
            t = torch.as_tensor(t).to(device)
            at = torch.zeros(r.shape[0], t.shape[0], dtype=torch.bool, device=device)
            at[:, unit.positions(t)] = r.to(device)
            seqs.append(t.unsqueeze(0).repeat(r.shape[0], 1))
            masks.append(at)
        keys = self.keys(examples, removed) if isinstance(self, _Stochastic) else None
        return model(self.replace(unit, torch.cat(seqs), torch.cat(masks), keys))


@register_operator("baseline", unit="token")
class TokenBaseline(TokenOperator):
    """A removed token becomes ``token`` (padding, for most units)."""

    def __init__(self, token: int):
        self.token = int(token)

    def replace(self, unit, tokens, removed, keys):
        return tokens.masked_fill(removed, self.token)


@register_operator("oov", unit="token")
class OutOfVocabulary(TokenBaseline):
    """A removed token becomes the out-of-vocabulary token ``oov_id``."""

    def __init__(self, oov_id: int):
        super().__init__(oov_id)


@register_operator("delete", unit="token")
class TokenDeletion(TokenOperator):
    """A removed token is taken out: the tokens after it shift left, the unit's padding fills the end
    (a review gets shorter, a peptide loses a residue)."""

    in_distribution = True

    def replace(self, unit, tokens, removed, keys):
        order = torch.argsort(removed.long(), dim=1, stable=True)    # kept tokens first, in order
        shifted = tokens.gather(1, order)
        length = tokens.shape[1]
        tail = torch.arange(length, device=tokens.device).unsqueeze(0) >= length - removed.sum(1, keepdim=True)
        return shifted.masked_fill(tail, unit.pad_id)


@register_operator("draw", unit="token")
class TokenDraw(_Stochastic, TokenOperator):
    """A removed token becomes a symbol drawn from ``frequencies`` (probabilities over the ids, e.g.
    :func:`symbol_frequencies` of the training sequences), one draw per position of each example."""

    in_distribution = True

    def __init__(self, frequencies, seed: int = 0):
        self.frequencies = torch.as_tensor(frequencies, dtype=torch.float64).reshape(-1)
        if (self.frequencies < 0).any() or self.frequencies.sum() <= 0:
            raise ValueError("draw: frequencies must be non-negative and not all zero")
        self.seed = int(seed)

    def replace(self, unit, tokens, removed, keys):
        length = tokens.shape[1]
        drawn = _per_example(keys, lambda g: torch.multinomial(self.frequencies, length, replacement=True, generator=g))
        return torch.where(removed, drawn.to(tokens.device, tokens.dtype), tokens)


# -------------------------------------------------------------------------------------- features
class FeatureOperator(Operator):
    """Removes features of ``(D,)`` table rows: :meth:`fill` gets every copy ``(K, D)`` (float32), the
    removed features ``(K, D)`` and the copies' example seeds (``None`` for an operator that does not
    draw)."""

    @abstractmethod
    def fill(self, rows: Tensor, removed: Tensor, keys: Optional[list[int]]) -> Tensor:
        """The copies with their removed features filled."""

    def forward_removed(self, unit, model, examples, removed):
        device = _device(model)
        rows, masks = [], []
        for x, r in zip(examples, removed):
            x = torch.as_tensor(x, dtype=torch.float32, device=device)
            rows.append(x.unsqueeze(0).expand(r.shape[0], -1))
            masks.append(r.to(device))
        keys = self.keys(examples, removed) if isinstance(self, _Stochastic) else None
        return model(self.fill(torch.cat(rows), torch.cat(masks), keys))


@register_operator("baseline", unit="feature")
class FeatureBaseline(FeatureOperator):
    """A removed feature takes ``value`` (a number, or one per feature)."""

    def __init__(self, value=0.0):
        self.value = value

    def fill(self, rows, removed, keys):
        value = torch.as_tensor(self.value, dtype=rows.dtype, device=rows.device)
        return torch.where(removed, value.expand(rows.shape[1:]).unsqueeze(0), rows)


@register_operator("zero", unit="feature")
class FeatureZero(FeatureBaseline):
    """A removed feature becomes 0."""

    def __init__(self):
        super().__init__(0.0)


@register_operator("mean", unit="feature")
class FeatureMean(FeatureBaseline):
    """A removed feature takes its training mean ``mean`` ``(D,)``."""

    def __init__(self, mean):
        super().__init__(torch.as_tensor(mean, dtype=torch.float32).reshape(-1))


@register_operator("draw", unit="feature")
class FeatureDraw(_Stochastic, FeatureOperator):
    """A removed feature takes that feature's value in a random row of ``train_rows`` ``(N, D)`` (the
    rows drawn independently per feature and example)."""

    in_distribution = True

    def __init__(self, train_rows, seed: int = 0):
        self.train_rows = torch.as_tensor(np.asarray(train_rows), dtype=torch.float32)
        if self.train_rows.dim() != 2 or not len(self.train_rows):
            raise ValueError(f"draw: train_rows must be a non-empty (N, D) table, got {tuple(self.train_rows.shape)}")
        self.seed = int(seed)

    def fill(self, rows, removed, keys):
        n, d = self.train_rows.shape
        picked = _per_example(keys, lambda g: torch.randint(0, n, (d,), generator=g))
        drawn = self.train_rows[picked, torch.arange(d)].to(rows.device, rows.dtype)
        return torch.where(removed, drawn, rows)


# ----------------------------------------------------------------------------------------- atoms
class AtomEmbeddingOperator(Operator):
    """Removes atoms of PyG graphs at ``model.<unit.layer>``'s output: :meth:`replace` gets the
    embeddings of every copy's atoms and which rows are removed."""

    @abstractmethod
    def replace(self, embeddings: Tensor, removed: Tensor) -> Tensor:
        """The embeddings with the removed rows replaced (a new tensor)."""

    def forward_removed(self, unit, model, examples, removed):
        from torch_geometric.data import Batch

        copies, rows = [], []
        for g, r in zip(examples, removed):
            copies += [g] * r.shape[0]
            rows.append(r.reshape(-1))
        device = _device(model)
        batch = Batch.from_data_list(copies).to(device)
        drop = torch.cat(rows).to(device)
        with replace_layer(getattr(model, unit.layer), lambda out: self.replace(out, drop)):
            return model(batch)


@register_operator("baseline", unit="atom")
class AtomBaseline(AtomEmbeddingOperator):
    """A removed atom's embedding row is set to ``value`` in every channel."""

    def __init__(self, value: float = 0.0):
        self.value = float(value)

    def replace(self, embeddings, removed):
        out = embeddings.clone()
        out[removed] = self.value
        return out


@register_operator("mean_embedding", unit="atom")
class MeanEmbedding(AtomEmbeddingOperator):
    """A removed atom's embedding row becomes ``mean_embedding`` ``(d,)``, the mean embedding of the
    training molecules' atoms under the explained model."""

    in_distribution = True

    def __init__(self, mean_embedding):
        self.mean_embedding = torch.as_tensor(mean_embedding, dtype=torch.float32).reshape(-1)

    def replace(self, embeddings, removed):
        out = embeddings.clone()
        out[removed] = self.mean_embedding.to(out.device, out.dtype)
        return out


@register_operator("delete", unit="atom")
class AtomDeletion(Operator):
    """A removed atom leaves the graph with its bonds (PyG ``subgraph`` of the kept atoms): the model
    reads the smaller molecule. A copy with every atom removed is the empty graph, which needs a
    model whose readout counts ``batch.num_graphs`` (the project's GGNN and NFP do)."""

    in_distribution = True

    def forward_removed(self, unit, model, examples, removed):
        from torch_geometric.data import Batch

        copies = [g.subgraph(~row) for g, r in zip(examples, removed) for row in r.cpu()]
        out = model(Batch.from_data_list(copies).to(_device(model)))
        if out.shape[0] != len(copies):
            raise ValueError(f"atom deletion: the model returned {out.shape[0]} rows for {len(copies)} graphs (a graph "
                             "with every atom deleted is empty: the readout must count batch.num_graphs)")
        return out
