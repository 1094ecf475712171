"""Integrated gradients, with the interior gradients and the completeness check.

Sundararajan, Taly & Yan, "Gradients of counterfactuals": the interior
gradients are the gradients at the counterfactuals ``baseline + alpha (x -
baseline)`` for ``0 <= alpha <= 1`` (eq. 3); cumulating them along the path gives
integrated gradients, whose attributions add up to ``F(x) - F(baseline)``
(Proposition 1, "completeness").  The path runs at the target, so at atom or
token embeddings the counterfactuals are scaled embeddings, as the paper does
for its ligand and language models.

All path steps are replicated copies of the batch (chunked by ``max_batch``), so
``steps = 64`` costs one batched forward/backward, not 64 of them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from .base import Attribution, Chunk, is_graph_batch

__all__ = ["IntegratedGradients", "IGResult", "path_rule"]

_RULES = ("gausslegendre", "riemann_middle", "riemann_left", "riemann_right", "trapezoid")
#: short names accepted for the rules
RULE_ALIASES = {"gauss_legendre": "gausslegendre", "gauss-legendre": "gausslegendre",
                "midpoint": "riemann_middle", "middle": "riemann_middle",
                "left": "riemann_left", "right": "riemann_right"}
#: the default rule: fewest steps to 1% completeness on the project's MLP, CNN and LSTM
#: (``python benchmarks/attribution_speed.py --completeness``; README, attribution section)
DEFAULT_RULE = "riemann_middle"


def canonical_rule(rule: str) -> str:
    r = RULE_ALIASES.get(rule, rule)
    if r not in _RULES:
        extra = (" (captum's riemann_trapezoid weights the points by 1/n; ours, 'trapezoid', "
                 "by 1/(n-1))" if rule == "riemann_trapezoid" else "")
        raise ValueError(f"rule must be one of {_RULES} or an alias {sorted(RULE_ALIASES)}; "
                         f"got {rule!r}{extra}")
    return r


def path_rule(rule: str, steps: int) -> tuple[Tensor, Tensor]:
    """``(alphas, weights)`` of a quadrature rule on [0, 1] with ``steps`` points.

    ``gausslegendre`` (Gauss-Legendre nodes and weights mapped to [0, 1], as captum's
    default; exact for polynomials of degree ``2 steps - 1``), ``riemann_middle``
    (midpoint, alias ``midpoint``), ``riemann_right`` (the paper's ``k/m``, k = 1..m,
    alias ``right``), ``riemann_left`` (alias ``left``) and ``trapezoid`` (``steps``
    points including both ends, weights ``1/(steps-1)``, halved at the ends).  Captum's
    ``riemann_trapezoid`` uses weights ``1/steps`` with the same points, so its sums are
    ours times ``(steps-1)/steps``; the other rules are identical to captum's.
    """
    rule = canonical_rule(rule)
    m = int(steps)
    if m < 1 or (rule == "trapezoid" and m < 2):
        raise ValueError("too few steps")
    k = torch.arange(m, dtype=torch.float64)
    if rule == "gausslegendre":
        nodes, w = np.polynomial.legendre.leggauss(m)
        alphas = torch.from_numpy((nodes + 1.0) / 2.0)
        weights = torch.from_numpy(w / 2.0)
    elif rule == "riemann_right":
        alphas, weights = (k + 1) / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    elif rule == "riemann_left":
        alphas, weights = k / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    elif rule == "riemann_middle":
        alphas, weights = (k + 0.5) / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    else:
        alphas = k / (m - 1)
        weights = torch.full((m,), 1.0 / (m - 1), dtype=torch.float64)
        weights[0] /= 2
        weights[-1] /= 2
    return alphas, weights


@dataclass
class IGResult:
    """Everything along the path, for the saturation and interior-gradient plots.

    attributions: (*target_shape) integrated gradients.
    alphas, weights: (steps,) quadrature points and weights.
    interior_grads: (steps, *target_shape) gradients at each counterfactual
        (``None`` unless ``keep_grads``).
    path_scores: (steps, batch) the score F at each counterfactual.
    score, baseline_score: (batch,) F(x) and F(baseline).
    attribution_sum: (batch,) sum of the attributions of each example.
    abs_error, rel_error: (batch,) |attribution_sum - (F(x) - F(baseline))| and
        that divided by |F(x) - F(baseline)| (completeness, Proposition 1).
    """

    attributions: Tensor
    alphas: Tensor
    weights: Tensor
    interior_grads: Optional[Tensor]
    path_scores: Tensor
    score: Tensor
    baseline_score: Tensor
    attribution_sum: Tensor
    abs_error: Tensor
    rel_error: Tensor

    def completeness_report(self) -> str:
        delta = self.score - self.baseline_score
        return (f"IG completeness over {delta.numel()} examples: "
                f"mean |sum - (F(x)-F(x'))| = {self.abs_error.mean():.4g}, "
                f"max = {self.abs_error.max():.4g}, mean relative error = "
                f"{self.rel_error.mean():.3%}, max = {self.rel_error.max():.3%}")


class IntegratedGradients(Attribution):
    """Integrated gradients at the input or at a hooked target.

    ``multiply_by_inputs`` defaults to True here (attributions ``(x - x') *
    mean path gradient``); False returns the mean path gradient alone.
    ``compute`` returns ``(1, *target_shape)`` so :func:`aggregate` applies as for
    the sampling methods; ``compute(..., return_path=True)`` also returns an
    :class:`IGResult`, and ``last_result`` keeps the latest one.  ``baseline`` is
    the counterfactual at ``alpha = 0`` (0.0: a black image, zero embeddings).
    F(x) and F(baseline) are evaluated in the same batched pass (two extra
    copies) for the completeness check.

    Tuple inputs ``compute((x1, x2))`` move all attributed inputs together along the
    joint straight path from their baselines (``baseline=`` a scalar, a tensor, a callable
    ``x -> baseline`` or a tuple of those, one per input) and return a tuple; the
    completeness check sums the attributions of all inputs.  ``rule``: see
    :func:`path_rule`; the default, ``DEFAULT_RULE`` (the midpoint rule,
    ``riemann_middle``), reached 1% completeness with the fewest steps on the benchmark's
    MLP, CNN and LSTM (64 in the worst case, tied with Gauss-Legendre, with the smaller
    error on the ReLU/max-pool CNN, and evenly spaced path points for the
    interior-gradient plots).  ``M`` is
    ignored (one deterministic sample; ``M > 1`` warns).
    """

    default_M = 1
    ignores_M = True

    def __init__(self, model, layer=None, baseline=0.0, steps: int = 64,
                 rule: str = DEFAULT_RULE, keep_grads: bool = True, **kwargs):
        kwargs.setdefault("multiply_by_inputs", True)
        super().__init__(model, layer, baseline=baseline, **kwargs)
        rule = canonical_rule(rule)
        path_rule(rule, steps)  # validate early
        self.steps, self.rule, self.keep_grads = int(steps), rule, keep_grads
        self.last_result: Optional[IGResult] = None

    def _row_examples(self, inputs, rows: int, device):
        if is_graph_batch(inputs) and rows == int(inputs.num_nodes) and \
                rows != int(inputs.num_graphs):
            return inputs.batch.to(device), int(inputs.num_graphs)
        return torch.arange(rows, device=device), rows

    def _compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0,
                 return_path: bool = False):
        alphas, weights = path_rule(self.rule, self.steps)
        # two extra copies at the ends for F(baseline) and F(x)
        all_alphas = torch.cat([alphas, torch.tensor([0.0, 1.0], dtype=torch.float64)])

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            a = all_alphas.to(device=v.device, dtype=v.dtype)[chunk.copies]
            a = a.view(-1, *([1] * (v.dim() - 1)))
            b = self._baseline_like(v, chunk)
            return b + a * (v - b)

        run = self._run(inputs, self.steps + 2, perturb, seed)
        grads = run.grads[: self.steps]
        w = weights.to(device=grads.device, dtype=grads.dtype).view(-1, *([1] * (grads.dim() - 1)))
        avg_grad = (w * grads).sum(0)
        value = run.values[0]
        if self.multiply_by_inputs:
            attr = (value - self._baseline_like(value)) * avg_grad
        else:
            attr = avg_grad
        score, base_score = run.scores[-1], run.scores[-2]

        # completeness: sum of attributions per example
        rows = attr.shape[0]
        ex, n_ex = self._row_examples(inputs, rows, attr.device)
        per_row = attr.reshape(rows, -1).sum(1)
        attr_sum = torch.zeros(n_ex, dtype=attr.dtype, device=attr.device).index_add(0, ex, per_row)
        if n_ex != score.shape[0]:  # edge-level or unusual targets: one sum per batch
            attr_sum = attr_sum.sum().expand(score.shape[0]) / 1.0
        delta = score - base_score
        abs_err = (attr_sum - delta).abs()
        rel_err = abs_err / delta.abs().clamp_min(1e-12)

        result = IGResult(
            attributions=attr, alphas=alphas.to(attr.dtype), weights=weights.to(attr.dtype),
            interior_grads=grads if self.keep_grads else None,
            path_scores=run.scores[: self.steps], score=score, baseline_score=base_score,
            attribution_sum=attr_sum, abs_error=abs_err, rel_error=rel_err)
        self.last_result = result
        self.last_scores = run.scores
        samples = attr.unsqueeze(0)
        return (samples, result) if return_path else samples
