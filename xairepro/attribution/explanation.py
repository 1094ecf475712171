"""The result of every attribution method: an :class:`Explanation` (after PyG's ``Explanation``).

It holds the ``M`` attribution samples per input, what produced them (the method's registered
name and options, the explained output index) and the explained output itself (the score of
each sample: BayesGrad's MC-dropout predictions, the scores SmoothGrad saw). Metrics, plots and
the experiments take it and never ask which method made it:

* :meth:`Explanation.attribution` / :meth:`Explanation.spread`: the mean and the standard deviation
  over the samples (BayesGrad's uncertainty map), after an elementwise ``raw | abs | square``;
* :meth:`Explanation.units`: one score per unit a person reads (atoms, pixels, tokens, residues,
  characters, features), through a unit of :mod:`xairepro.evaluation.units`, and
  :meth:`Explanation.unit_spread` the spread of those scores over the samples.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .aggregate import aggregate

__all__ = ["Explanation", "pad_cat"]


@dataclass
class Explanation:
    """Attributions of one batch by one method.

    method
        the registered name of the method (``bayesgrad``, a user's own).
    samples
        ``(M, *shape)``: ``M`` samples of the attribution of the batch at the attributed tensor (the
        input, or a layer's output: ``(M, atoms, channels)`` for a graph batch); a tuple of those for
        tuple inputs (``None`` where an item is not attributed).
    output
        ``(M, batch)`` the explained score of each sample (``None`` where the method has none).
    target
        the output index explained (``None``, an int or one per example).
    options
        the method's options, as given (numbers, strings; tensors summarised by shape).
    example_index
        for an attributed tensor whose rows are not the examples (the atoms of a graph batch), the
        example of each row; ``None``: row i is example i.
    each_sample_is_an_order
        the samples are alternative rankings to be evaluated one by one and averaged (the random
        order), not draws to be averaged first.
    path
        integrated gradients: the path (:class:`~xairepro.attribution.integrated.IGPath`).
    extras
        method-specific details (Shapley's group values, occlusion's drops).
    """

    method: str
    samples: Any
    output: Optional[Tensor] = None
    target: Any = None
    options: dict = field(default_factory=dict)
    example_index: Optional[Tensor] = None
    each_sample_is_an_order: bool = False
    path: Any = None
    extras: dict = field(default_factory=dict)

    # ----------------------------------------------------------------- shape
    @property
    def M(self) -> int:
        s = self.samples if isinstance(self.samples, Tensor) else next(t for t in self.samples if t is not None)
        return int(s.shape[0])

    @property
    def n_examples(self) -> int:
        if self.example_index is not None:
            return int(self.example_index.max()) + 1 if self.example_index.numel() else 0
        return int(self._tensor().shape[1])

    def _tensor(self) -> Tensor:
        if not isinstance(self.samples, Tensor):
            raise TypeError(f"{self.method}: this explanation holds a tuple of attributions (tuple inputs); "
                            "index .samples for one input")
        return self.samples

    # -------------------------------------------------------------- reductions
    def attribution(self, aggregation: str = "raw", channel_axis=None):
        """Mean over the samples of ``raw | abs | square`` samples, ``(*shape)``; ``channel_axis``
        sums those axes of the samples (see :func:`~xairepro.attribution.aggregate`)."""
        return aggregate(self.samples, method=aggregation, channel_axis=channel_axis)

    def spread(self, aggregation: str = "raw", channel_axis=None):
        """Standard deviation over the samples (``correction=1``; zeros when ``M == 1``)."""
        return aggregate(self.samples, method=aggregation, channel_axis=channel_axis, return_std=True)[1]

    def per_example(self, rows: Tensor) -> list[Tensor]:
        """Split a ``(rows, ...)`` tensor (one sample, or a mean) into one tensor per example."""
        if self.example_index is None:
            return list(rows)
        counts = torch.bincount(self.example_index.cpu(), minlength=self.n_examples).tolist()
        return list(torch.split(rows, counts))

    def unit_samples(self, unit, examples: Sequence, aggregation: str = "raw") -> list[np.ndarray]:
        """Per example, ``(M, n_units)`` unit scores of every sample (``unit.reduce`` after the
        elementwise ``aggregation``)."""
        s = self._tensor().detach().float().cpu()
        s = {"raw": s, "abs": s.abs(), "square": s * s}[_check_aggregation(aggregation)]
        per_sample = [self.per_example(sample) for sample in s]
        self._check_examples(examples)
        return [np.stack([unit.reduce(per_sample[m][i], ex) for m in range(len(per_sample))])
                for i, ex in enumerate(examples)]

    def units(self, unit, examples: Sequence, aggregation: str = "raw") -> list[np.ndarray]:
        """One score per unit of each example: the mean attribution (``aggregation`` elementwise,
        then the mean over samples) reduced by ``unit``; for an explanation whose samples are
        orders (the random one), the first sample."""
        self._check_examples(examples)
        if self.each_sample_is_an_order:
            return [u[0] for u in self.unit_samples(unit, examples, aggregation)]
        mean = self.attribution(aggregation).detach().float().cpu()
        return [np.asarray(unit.reduce(a, ex), dtype=float) for a, ex in zip(self.per_example(mean), examples)]

    def unit_spread(self, unit, examples: Sequence, aggregation: str = "raw") -> list[np.ndarray]:
        """Per example, the standard deviation over the samples of each unit's score (zeros when
        ``M == 1``): BayesGrad's uncertainty, per atom, pixel, word, residue or character."""
        out = []
        for u in self.unit_samples(unit, examples, aggregation):
            out.append(u.std(0, ddof=1) if u.shape[0] > 1 else np.zeros(u.shape[1]))
        return out

    def _check_examples(self, examples: Sequence) -> None:
        if len(examples) != self.n_examples:
            raise ValueError(f"{self.method}: {len(examples)} examples given for an explanation of "
                             f"{self.n_examples}")

    # ------------------------------------------------------------ bookkeeping
    def cpu(self) -> "Explanation":
        def move(t):
            if isinstance(t, Tensor):
                return t.detach().cpu()
            if isinstance(t, tuple):
                return tuple(move(v) for v in t)
            return t
        path = self.path
        if path is not None and hasattr(path, "__dataclass_fields__"):
            path = replace(path, **{k: move(getattr(path, k)) for k in path.__dataclass_fields__})
        return replace(self, samples=move(self.samples), output=move(self.output), target=move(self.target),
                       example_index=move(self.example_index), path=path)

    @staticmethod
    def cat(parts: Sequence["Explanation"]) -> "Explanation":
        """Explanations of consecutive pieces of a batch (same method) as one explanation; the
        integrated-gradients path is kept only when every piece has one of the same length, and each
        extra becomes the list of the pieces' values."""
        if not parts:
            raise ValueError("no explanations to concatenate")
        first = parts[0]
        if any(p.method != first.method for p in parts):
            raise ValueError("explanations of different methods cannot be concatenated")
        Ms = {p.M for p in parts}
        if len(Ms) > 1:
            raise ValueError(f"explanations with different sample counts {sorted(Ms)} cannot be concatenated")
        cpu = [p.cpu() for p in parts]
        samples = pad_cat([p._tensor() for p in cpu], 1)
        output = torch.cat([p.output for p in cpu], 1) if all(p.output is not None for p in cpu) else None
        index = None
        if first.example_index is not None:
            offset, pieces = 0, []
            for p in cpu:
                pieces.append(p.example_index + offset)
                offset += p.n_examples
            index = torch.cat(pieces)
        targets = [p.target for p in cpu]
        if all(t is None for t in targets):
            target = None
        elif all(not isinstance(t, Tensor) for t in targets) and len({t for t in targets}) == 1:
            target = targets[0]
        else:  # one output index per example, ints expanded over their piece
            target = torch.cat([t.view(-1).long() if isinstance(t, Tensor) and t.dim() > 0
                                else torch.full((p.n_examples,), int(t), dtype=torch.long)
                                for t, p in zip(targets, cpu)])
        extras = {k: [p.extras.get(k) for p in cpu] for k in dict.fromkeys(k for p in cpu for k in p.extras)}
        path = None
        if all(p.path is not None for p in cpu) and len({len(p.path.alphas) for p in cpu}) == 1:
            path = type(first.path).cat([p.path for p in cpu])
        return replace(first.cpu(), samples=samples, output=output, target=target, example_index=index, path=path,
                       extras=extras)


def pad_cat(tensors: Sequence[Tensor], dim: int) -> Tensor:
    """Concatenate along ``dim``, zero-padding the axes after it to the largest size (token batches
    trimmed to their longest review: the padding positions carry no attribution)."""
    sizes = [max(t.shape[a] for t in tensors) for a in range(tensors[0].dim())]
    padded = []
    for t in tensors:
        pad = []
        for a in reversed(range(dim + 1, t.dim())):
            pad += [0, sizes[a] - t.shape[a]]
        padded.append(torch.nn.functional.pad(t, pad) if any(pad) else t)
    return torch.cat(padded, dim)


def _check_aggregation(aggregation: str) -> str:
    if aggregation not in ("raw", "abs", "square"):
        raise ValueError(f"aggregation must be 'raw', 'abs' or 'square', got {aggregation!r}")
    return aggregation
