"""Model output -> the one score per example whose attribution is computed.

``target`` is the output index, as in captum: ``None`` for a model with one output per example,
an int, or one index per example (a LongTensor or a list). The score is the raw output as the
model returns it (pre-sigmoid, pre-softmax), as BayesGrad section 2.1 explains it; wrap the model
(softmax, a loss) to explain another quantity, or pass ``output_fn``.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor

__all__ = ["SoftmaxScore", "normalize_target", "score_of", "tile_target"]


def normalize_target(target, owner: str = "compute"):
    """The output index as an int, a LongTensor (one per example) or ``None``."""
    if isinstance(target, list):
        return torch.as_tensor(target, dtype=torch.long)
    if isinstance(target, tuple):
        raise TypeError(f"{owner}: target= must be an int, a LongTensor or a list with one index per "
                        "example; for other output shapes pass output_fn=")
    if isinstance(target, torch.nn.Module):
        raise TypeError(f"{owner}: target= is the output index; the hooked module is layer=")
    return target


def tile_target(target, start: int, stop: int, k: int):
    """The output index for ``k`` replicated copies of examples ``start..stop``."""
    if isinstance(target, Tensor) and target.dim() > 0:
        return target[start:stop].repeat(k)
    return target


def score_of(output, target=None, output_fn: Optional[Callable] = None, n: Optional[int] = None) -> Tensor:
    """``(n,)`` scores: ``output_fn(output)``, or the column ``target`` of a ``(B, K)`` output, or a
    ``(B,)``/``(B, 1)`` output itself."""
    if output_fn is not None:
        s = output_fn(output)
    else:
        if isinstance(output, (tuple, list)):
            raise TypeError("the model returns a tuple; pass output_fn= to pick the score")
        if output.dim() == 1:
            s = output
        elif output.dim() == 2 and output.shape[1] == 1 and target is None:
            s = output[:, 0]
        elif output.dim() != 2:
            raise ValueError(f"cannot reduce model output of shape {tuple(output.shape)} to one score per "
                             "example; pass output_fn=")
        elif target is None:
            raise ValueError(f"the model returns {output.shape[1]} outputs per example; pass the output "
                             "index as target= (an int, or a LongTensor/list of shape (batch,)) or output_fn=")
        elif isinstance(target, Tensor) and target.dim() > 0:
            idx = target.to(output.device).long().view(-1, 1)
            if idx.shape[0] != output.shape[0]:
                raise ValueError(f"target= has {idx.shape[0]} output indices for a batch of {output.shape[0]}")
            s = output.gather(1, idx)[:, 0]
        else:
            s = output[:, int(target)]
    if n is not None and (not isinstance(s, Tensor) or s.dim() != 1 or s.shape[0] != n):
        shape = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
        raise ValueError(f"the score must be one number per example, shape ({n},); got {shape}")
    return s


class SoftmaxScore(torch.nn.Module):
    """``model`` with a softmax over its last axis: the class probability a classifier's methods
    explain and its faithfulness curves read (the counterfactuals paper explains softmax scores)."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        # a new module is in training mode: take the model's, or a caller that restores the
        # wrapper's mode (``score.train(was_training)``) would put an eval-mode model into training
        self.training = model.training

    def forward(self, *inputs):
        return torch.softmax(self.model(*inputs).float(), -1)
