"""Sanity checks for attributions (Adebayo et al. 2018) and the informativeness of their uncertainty.

* Model-parameter randomisation: the layers of the trained model are re-initialised from the top
  (the output layer first), cascading, and the attributions of each randomised model are compared
  with the trained model's by rank correlation (Spearman) per example. An attribution that barely
  changes when the weights it should explain are destroyed fails: it explains the input, not the
  model. :data:`SANITY_THRESHOLD` is the mean correlation below which a method passes, at every
  cascade step from half of the layers on (:func:`xairepro.evaluation.verdicts.sanity_verdicts`).
* Data randomisation: the same comparison against a model trained on permuted labels (the
  experiment retrains; :func:`rank_correlations` compares).
* Uncertainty: the rank correlation between a unit's standard deviation over the M samples
  (BayesGrad's uncertainty) and the change of the score when that unit alone is removed
  (:func:`single_unit_drops`): positive when the uncertain units are the ones that matter.

Nothing here knows which method made the attributions.
"""
from __future__ import annotations

import copy
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import nn

from .units import Unit

__all__ = ["SANITY_THRESHOLD", "cascading_randomisation", "parameter_layers", "rank_correlations", "sanity_steps",
           "single_unit_drops", "spearman"]

#: A method passes the model-randomisation check when the mean Spearman correlation between its
#: trained-model and fully-randomised-model unit scores is below this value.
SANITY_THRESHOLD = 0.5


def parameter_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's leaf modules that own parameters, from the output side to the input side (the
    reverse of their registration order, which follows the forward pass in this project's models)."""
    layers = [(name, m) for name, m in model.named_modules()
              if list(m.parameters(recurse=False)) and name]
    return list(reversed(layers))


def _reinit(module: nn.Module, gen: torch.Generator) -> None:
    if hasattr(module, "reset_parameters"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            module.reset_parameters()
        return
    with torch.no_grad():
        for p in module.parameters(recurse=False):
            p.copy_(torch.randn(p.shape, generator=gen).to(p) * (p.std() if p.numel() > 1 else 1.0))


def cascading_randomisation(model: nn.Module, steps: Sequence[int] | None = None, seed: int = 0
                            ) -> Iterator[tuple[str, int, nn.Module]]:
    """``(label, n_layers_randomised, randomised copy)`` for each cascade step: the top ``k`` parameter
    layers re-initialised, for ``k`` in ``steps`` (default: 1, half of them, all). The trained model
    is never modified."""
    layers = parameter_layers(model)
    n = len(layers)
    if n == 0:
        raise ValueError("the model has no parameters to randomise")
    ks = sorted({min(max(1, int(k)), n) for k in (steps if steps is not None else (1, max(1, n // 2), n))})
    for k in ks:
        copy_ = copy.deepcopy(model)
        names = dict(copy_.named_modules())
        gen = torch.Generator().manual_seed(int(seed) + k)
        for name, _ in layers[:k]:
            _reinit(names[name], gen)
        label = "all layers" if k == n else f"top {k} of {n} layers"
        yield label, k, copy_.eval()


def sanity_steps(model: nn.Module, value=()) -> list[int] | None:
    """A study's ``sanity_steps`` config value as :func:`cascading_randomisation` takes it: ``None``
    skips the check; ``"all"`` is only the full randomisation (every parameter layer re-initialised,
    the cheap setting); a list of layer counts or the words ``top`` (1), ``half`` and ``all`` (of the
    model's parameter layers), as given; an empty list, the default cascade (1, half, all)."""
    if value is None:
        return None
    n = len(parameter_layers(model))
    words = {"top": 1, "half": max(1, n // 2), "all": n}
    steps = [value] if isinstance(value, str) else list(value)
    out = []
    for step in steps:
        if isinstance(step, str):
            if step not in words:
                raise ValueError(f"sanity_steps: {step!r} is neither an integer nor one of {sorted(words)}")
            step = words[step]
        out.append(int(step))
    return out


def spearman(a, b) -> float:
    """Spearman's rho of two score vectors (nan when either is constant or shorter than 2)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return float("nan")
    return float(spearmanr(a, b).statistic)


def rank_correlations(reference: Sequence[np.ndarray], other: Sequence[np.ndarray]) -> np.ndarray:
    """Per example, Spearman's rho between two sets of per-unit scores."""
    if len(reference) != len(other):
        raise ValueError(f"{len(reference)} and {len(other)} examples")
    return np.array([spearman(a, b) for a, b in zip(reference, other)])


@torch.no_grad()
def single_unit_drops(model, examples: Sequence, unit: Unit, *, targets: Sequence[int] | None = None,
                      score_fn: Callable | None = None) -> list[np.ndarray]:
    """Per example, ``f(x) - f(x without unit j)`` for every unit ``j`` (the removal the faithfulness
    curves use)."""
    was_training = model.training
    model.eval()
    out = []
    try:
        for i, ex in enumerate(examples):
            n = unit.count(ex)
            removed = torch.cat([torch.zeros(1, n, dtype=torch.bool), torch.eye(n, dtype=torch.bool)])
            y = unit.forward_removed(model, [ex], [removed])
            if score_fn is not None:
                y = score_fn(y)
            y = y.float().reshape(y.shape[0], -1).cpu().numpy()[:, 0 if targets is None else int(targets[i])]
            out.append(y[0] - y[1:])
    finally:
        model.train(was_training)
    return out
