"""Single-substitution counterfactuals (dmol.pub chapter, section 10.6).

A counterfactual is the closest example with a different outcome.  With the
Hamming distance the closest candidates are the single substitutions, so the
search enumerates every (position, new value) pair, evaluates them all in
batches, and keeps those that flip the predicted class, or for regression the
ones that move the output most.  This is exhaustive, not Monte Carlo, and is
cheap for peptides (length x 20) and table rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import torch
from torch import Tensor

__all__ = ["Substitution", "single_substitution_counterfactuals"]


@dataclass
class Substitution:
    """One single-position change and its effect on the model.

    ``old``/``new`` are alphabet labels when an alphabet of labels was given,
    else token ids or feature values.  ``score_*`` are the raw scores (for a
    multi-class model, the score of the originally predicted class);
    ``class_*`` the predicted classes (``None`` for regression).
    """

    position: int
    old: Any
    new: Any
    score_before: float
    score_after: float
    class_before: Optional[int] = None
    class_after: Optional[int] = None

    @property
    def effect(self) -> float:
        return self.score_after - self.score_before


def _classes(scores: Tensor, threshold: float) -> Tensor:
    if scores.dim() == 1:
        return (scores > threshold).long()
    return scores.argmax(1)


def single_substitution_counterfactuals(
        predict_fn: Callable[[Tensor], Tensor], x: Tensor,
        alphabet_or_values: Union[int, str, Sequence, Tensor, dict],
        positions: Optional[Sequence[int]] = None, threshold: float = 0.0,
        task: str = "classification", top_k: Optional[int] = None,
        max_batch: int = 4096) -> list[Substitution]:
    """Every single-position substitution of ``x`` that flips the prediction.

    x
        ONE example: token ids ``(L,)`` (long), a one-hot sequence ``(L, A)``
        (float), or a table row ``(D,)`` (float).
    alphabet_or_values
        sequences: the alphabet (a string, a list of labels, or its size ``A``);
        table rows: candidate values, one sequence per feature, a dict
        ``{feature: values}``, or one sequence shared by all features.
    positions
        positions to try; default all (for one-hot, only rows that hold a
        letter, so padding is never "extended", as the chapter does).
    predict_fn
        batch -> scores ``(n,)`` (a binary logit, compared with ``threshold``),
        ``(n, K)`` (argmax), or a regression output ``(n,)`` with
        ``task="regression"``.
    Returns the flips sorted by the size of the score change (largest first);
    for regression, the ``top_k`` (default 10) largest absolute changes.
    """
    if task not in ("classification", "regression"):
        raise ValueError("task must be 'classification' or 'regression'")
    labels = None
    if isinstance(alphabet_or_values, str) or (
            isinstance(alphabet_or_values, (list, tuple)) and alphabet_or_values
            and isinstance(alphabet_or_values[0], str)):
        labels = list(alphabet_or_values)

    # enumerate candidates: (position, old, new) and the substituted examples
    cands: list[tuple[int, Any, Any]] = []
    if x.dim() == 2 and torch.is_floating_point(x):          # one-hot sequence
        A = x.shape[1]
        if labels is not None and len(labels) != A:
            raise ValueError("alphabet length does not match the one-hot width")
        filled = (x.abs().sum(1) > 0).nonzero().flatten().tolist()
        pos = list(positions) if positions is not None else filled
        old_ids = x.argmax(1)
        for i in pos:
            for j in range(A):
                if j != int(old_ids[i]):
                    cands.append((i, int(old_ids[i]), j))

        def build(chunk):
            out = x.unsqueeze(0).repeat(len(chunk), 1, 1)
            idx = torch.arange(len(chunk))
            p = torch.tensor([c[0] for c in chunk])
            out[idx, p] = 0
            out[idx, p, torch.tensor([c[2] for c in chunk])] = 1
            return out
    elif x.dim() == 1 and not torch.is_floating_point(x):   # token ids
        A = len(labels) if labels is not None else (
            int(alphabet_or_values) if isinstance(alphabet_or_values, int)
            else len(alphabet_or_values))
        vocab = list(range(A)) if labels is not None or isinstance(alphabet_or_values, int) \
            else [int(v) for v in alphabet_or_values]
        pos = list(positions) if positions is not None else range(x.shape[0])
        for i in pos:
            for j in vocab:
                if j != int(x[i]):
                    cands.append((i, int(x[i]), j))

        def build(chunk):
            out = x.unsqueeze(0).repeat(len(chunk), 1)
            out[torch.arange(len(chunk)), torch.tensor([c[0] for c in chunk])] = \
                torch.tensor([c[2] for c in chunk], dtype=x.dtype)
            return out
    elif x.dim() == 1:                                        # table row
        D = x.shape[0]
        vals = alphabet_or_values
        if isinstance(vals, dict):
            per = {int(k): list(torch.as_tensor(v).flatten().tolist()) for k, v in vals.items()}
        elif isinstance(vals, (list, tuple)) and vals and isinstance(vals[0], (list, tuple, Tensor)):
            per = {i: list(torch.as_tensor(v).flatten().tolist()) for i, v in enumerate(vals)}
        else:
            shared = list(torch.as_tensor(vals).flatten().tolist())
            per = {i: shared for i in range(D)}
        pos = list(positions) if positions is not None else sorted(per)
        for i in pos:
            for v in per.get(i, []):
                if float(v) != float(x[i]):
                    cands.append((i, float(x[i]), float(v)))

        def build(chunk):
            out = x.unsqueeze(0).repeat(len(chunk), 1)
            out[torch.arange(len(chunk)), torch.tensor([c[0] for c in chunk])] = \
                torch.tensor([c[2] for c in chunk], dtype=x.dtype)
            return out
    else:
        raise ValueError("x must be token ids (L,), a one-hot sequence (L, A) or a row (D,)")

    with torch.no_grad():
        before = predict_fn(x.unsqueeze(0)).detach().cpu()
        after = []
        for c0 in range(0, len(cands), max_batch):
            chunk = cands[c0:c0 + max_batch]
            after.append(predict_fn(build(chunk).to(x.device)).detach().cpu())
    if not cands:
        return []
    after = torch.cat(after)

    def label(v):
        return labels[v] if labels is not None else v

    records = []
    if task == "regression":
        b = float(before.reshape(-1)[0])
        for (i, old, new), a in zip(cands, after.reshape(len(cands), -1)[:, 0].tolist()):
            records.append(Substitution(i, label(old), label(new), b, float(a)))
        records.sort(key=lambda r: -abs(r.effect))
        return records[: (top_k if top_k is not None else 10)]

    cls_before = int(_classes(before, threshold)[0])
    cls_after = _classes(after, threshold)
    if before.dim() == 1:
        sb, sa = float(before[0]), after.tolist()
    else:
        sb, sa = float(before[0, cls_before]), after[:, cls_before].tolist()
    for n, (i, old, new) in enumerate(cands):
        if int(cls_after[n]) != cls_before:
            records.append(Substitution(i, label(old), label(new), sb, float(sa[n]),
                                        cls_before, int(cls_after[n])))
    records.sort(key=lambda r: -abs(r.effect))
    return records if top_k is None else records[:top_k]
