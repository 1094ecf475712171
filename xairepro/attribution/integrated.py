"""Integrated gradients, with the interior gradients and the completeness check.

Sundararajan, Taly & Yan, "Gradients of counterfactuals": the interior gradients are the gradients
at the counterfactuals ``baseline + alpha (x - baseline)``, ``0 <= alpha <= 1`` (eq. 3); cumulated
along the path they give integrated gradients, whose attributions add up to ``F(x) - F(baseline)``
(Proposition 1, completeness). At atom or token embeddings (``layer=``) the counterfactuals are
scaled embeddings, as the paper does for its ligand and language models. All path points are
replicated copies of the batch, so ``n_steps = 64`` costs one batched pass, not 64.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from ._utils.batching import example_index
from ._utils.passes import Chunk
from .core import Call, GradientAttribution, Result
from .explanation import pad_cat
from .registry import register_method

__all__ = ["DEFAULT_RULE", "IGPath", "IntegratedGradients", "canonical_rule", "path_rule"]

_RULES = ("gausslegendre", "riemann_middle", "riemann_left", "riemann_right", "trapezoid")
#: short names accepted for the rules
RULE_ALIASES = {"gauss_legendre": "gausslegendre", "gauss-legendre": "gausslegendre", "midpoint": "riemann_middle",
                "middle": "riemann_middle", "left": "riemann_left", "right": "riemann_right"}
#: the default rule: fewest steps to 1% completeness on the project's MLP, CNN and LSTM
#: (``python benchmarks/attribution_speed.py --completeness``; README, attribution section)
DEFAULT_RULE = "riemann_middle"


def canonical_rule(rule: str) -> str:
    r = RULE_ALIASES.get(rule, rule)
    if r not in _RULES:
        extra = (" (captum's riemann_trapezoid weights the points by 1/n; ours, 'trapezoid', by 1/(n-1))"
                 if rule == "riemann_trapezoid" else "")
        raise ValueError(f"method must be one of {_RULES} or an alias {sorted(RULE_ALIASES)}; got {rule!r}{extra}")
    return r


def path_rule(rule: str, steps: int) -> tuple[Tensor, Tensor]:
    """``(alphas, weights)`` of a quadrature rule on [0, 1] with ``steps`` points.

    ``gausslegendre`` (captum's default; exact for polynomials of degree ``2 steps - 1``),
    ``riemann_middle`` (alias ``midpoint``), ``riemann_right`` (the paper's ``k/m``), ``riemann_left``
    and ``trapezoid`` (``steps`` points including both ends, weights ``1/(steps-1)``, halved at the
    ends; captum's ``riemann_trapezoid`` weights by ``1/steps``, so its sums are ours times
    ``(steps-1)/steps``). The other rules are identical to captum's.
    """
    rule = canonical_rule(rule)
    m = int(steps)
    if m < 1 or (rule == "trapezoid" and m < 2):
        raise ValueError("too few steps")
    k = torch.arange(m, dtype=torch.float64)
    if rule == "gausslegendre":
        nodes, w = np.polynomial.legendre.leggauss(m)
        return torch.from_numpy((nodes + 1.0) / 2.0), torch.from_numpy(w / 2.0)
    if rule == "riemann_right":
        return (k + 1) / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    if rule == "riemann_left":
        return k / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    if rule == "riemann_middle":
        return (k + 0.5) / m, torch.full((m,), 1.0 / m, dtype=torch.float64)
    weights = torch.full((m,), 1.0 / (m - 1), dtype=torch.float64)
    weights[0] /= 2
    weights[-1] /= 2
    return k / (m - 1), weights


@dataclass
class IGPath:
    """Everything along the path, for the saturation and interior-gradient plots.

    alphas, weights: (steps,) quadrature points and weights. interior_grads: (steps, *shape)
    gradients at each counterfactual (``None`` without ``keep_grads``). path_scores: (steps, batch)
    the score at each counterfactual. score, baseline_score: (batch,) F(x) and F(baseline).
    attribution_sum: (batch,) the attributions' sum per example. abs_error, rel_error: (batch,)
    |sum - (F(x) - F(baseline))| and that over |F(x) - F(baseline)| (completeness).
    """

    alphas: Tensor
    weights: Tensor
    interior_grads: Optional[Tensor]
    path_scores: Tensor
    score: Tensor
    baseline_score: Tensor
    attribution_sum: Tensor
    abs_error: Tensor
    rel_error: Tensor

    @property
    def n_steps(self) -> int:
        return int(len(self.alphas))

    def completeness_report(self) -> str:
        delta = self.score - self.baseline_score
        return (f"IG completeness over {delta.numel()} examples: mean |sum - (F(x)-F(x'))| = "
                f"{self.abs_error.mean():.4g}, max = {self.abs_error.max():.4g}, mean relative error = "
                f"{self.rel_error.mean():.3%}, max = {self.rel_error.max():.3%}")

    def split_inputs(self, split) -> "IGPath":
        """Tuple inputs: the interior gradients split back into one tensor per input."""
        return replace(self, interior_grads=None if self.interior_grads is None else split(self.interior_grads))

    @staticmethod
    def cat(paths) -> "IGPath":
        """Paths of consecutive pieces of a batch (same steps) as one path."""
        grads = [p.interior_grads for p in paths]
        return IGPath(alphas=paths[0].alphas, weights=paths[0].weights,
                      interior_grads=pad_cat(grads, 1) if all(isinstance(g, Tensor) for g in grads) else None,
                      path_scores=torch.cat([p.path_scores for p in paths], 1),
                      **{k: torch.cat([getattr(p, k) for p in paths]) for k in
                         ("score", "baseline_score", "attribution_sum", "abs_error", "rel_error")})


@register_method("integrated_gradients")
class IntegratedGradients(GradientAttribution):
    """Integrated gradients at the input or at a layer; deterministic (one sample whatever ``M``).

    n_steps, method
        path points and quadrature rule (:func:`path_rule`; captum's names). The default rule, the
        midpoint, reached 1% completeness with the fewest steps on the benchmark's MLP, CNN and LSTM.
    completeness_tol, max_steps
        when given, ``n_steps`` doubles until the median relative completeness error of the batch is
        within ``completeness_tol`` or another doubling would pass ``max_steps``.
    multiply_by_inputs
        True (default): ``(x - x') * mean path gradient``; False: the mean path gradient alone.
    keep_grads
        keep the interior gradients in ``Explanation.path`` (memory: steps x the attributed tensor).

    ``baselines`` is the counterfactual at ``alpha = 0`` (0.0: a black image, zero embeddings);
    tuple inputs move together along the joint straight path. F(x) and F(baseline) are evaluated in
    the same batched pass (two extra copies) for the completeness check.
    """

    def __init__(self, model, layer=None, *, n_steps: int = 64, method: str = DEFAULT_RULE,
                 completeness_tol: Optional[float] = None, max_steps: Optional[int] = None,
                 keep_grads: bool = True, multiply_by_inputs: bool = True, **kwargs):
        super().__init__(model, layer, multiply_by_inputs=multiply_by_inputs, **kwargs)
        rule = canonical_rule(method)
        path_rule(rule, n_steps)  # validate early
        self.n_steps, self.rule, self.keep_grads = int(n_steps), rule, bool(keep_grads)
        self.completeness_tol = None if completeness_tol is None else float(completeness_tol)
        self.max_steps = int(max_steps) if max_steps is not None else self.n_steps
        self.options.update(n_steps=self.n_steps, method=rule, completeness_tol=self.completeness_tol,
                            max_steps=self.max_steps)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        steps = self.n_steps
        while True:
            attr, path, scores = self._integrate(model, call, inputs, steps, seed)
            tol = self.completeness_tol
            if tol is None or float(path.rel_error.double().quantile(0.5)) <= tol or 2 * steps > self.max_steps:
                return Result(attr.unsqueeze(0), path.score.unsqueeze(0), path)
            steps *= 2

    def _integrate(self, model, call: Call, inputs, steps: int, seed):
        alphas, weights = path_rule(self.rule, steps)
        all_alphas = torch.cat([alphas, torch.tensor([0.0, 1.0], dtype=torch.float64)])

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            a = all_alphas.to(device=v.device, dtype=v.dtype)[chunk.copies].view(-1, *([1] * (v.dim() - 1)))
            b = call.baseline_like(v, chunk)
            return b + a * (v - b)

        run = self._passes(model, call, inputs, steps + 2, perturb, seed)
        grads = run.grads[:steps]
        w = weights.to(device=grads.device, dtype=grads.dtype).view(-1, *([1] * (grads.dim() - 1)))
        avg_grad = (w * grads).sum(0)
        value = run.values[0]
        attr = (value - call.baseline_like(value)) * avg_grad if self.multiply_by_inputs else avg_grad
        score, base_score = run.scores[-1], run.scores[-2]
        rows = attr.shape[0]
        ex, n_ex = example_index(inputs, rows, attr.device)
        per_row = attr.reshape(rows, -1).sum(1)
        attr_sum = torch.zeros(n_ex, dtype=attr.dtype, device=attr.device).index_add(0, ex, per_row)
        if n_ex != score.shape[0]:  # edge-level or unusual layers: one sum per batch
            attr_sum = attr_sum.sum().expand(score.shape[0]).clone()
        abs_err = (attr_sum - (score - base_score)).abs()
        path = IGPath(alphas=alphas.to(attr.dtype), weights=weights.to(attr.dtype),
                      interior_grads=grads if self.keep_grads else None, path_scores=run.scores[:steps],
                      score=score, baseline_score=base_score, attribution_sum=attr_sum, abs_error=abs_err,
                      rel_error=abs_err / (score - base_score).abs().clamp_min(1e-12))
        return attr, path, run.scores
