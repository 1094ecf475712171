"""Gradient saliency: VanillaGrad, SmoothGrad, BayesGrad, BayesSmoothGrad, input x gradient.

All four are the same computation, the gradient of the raw score at the
target, differing only in *what is sampled* (BayesGrad paper, sections 2-3):

========================  ======================  =====================
method                    input noise at target   dropout (MC) active
========================  ======================  =====================
VanillaGrad               no                      no
SmoothGrad                yes                     no
BayesGrad                 no                      yes
BayesSmoothGrad           yes                     yes
========================  ======================  =====================

Each returns the ``M`` raw gradient samples; norms (VanillaGrad's L1/L2, eq. 1)
and the ``raw|abs|square`` averages are applied afterwards by
:func:`channel_reduce` / :func:`~xairepro.attribution.aggregate.aggregate`, as
chainer-chemistry separates ``compute`` from ``aggregate``.
"""
from __future__ import annotations

import warnings
from typing import Optional

import torch
from torch import Tensor

from .base import Attribution, Chunk, has_dropout

__all__ = ["VanillaGrad", "InputXGradient", "SmoothGrad", "BayesGrad", "BayesSmoothGrad",
           "channel_reduce"]


def channel_reduce(grad: Tensor, norm: str = "l2", axis=-1) -> Tensor:
    """Reduce gradients over the channel axis: ``l1`` (sum |g|), ``l2`` (sqrt sum g^2)
    or ``square`` (sum g^2).  VanillaGrad's importance is the norm of the gradient
    w.r.t. a node's feature vector (BayesGrad eq. 1)."""
    if norm == "l1":
        return grad.abs().sum(dim=axis)
    if norm == "l2":
        return grad.pow(2).sum(dim=axis).sqrt()
    if norm == "square":
        return grad.pow(2).sum(dim=axis)
    raise ValueError("norm must be 'l1', 'l2' or 'square'")


class VanillaGrad(Attribution):
    """The gradient of the score at the target (Simonyan et al.; BayesGrad eq. 1).

    Deterministic: one pass is computed and repeated when ``M > 1``.
    """

    default_M = 1

    def _compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        M = int(M or self.default_M)
        run = self._run(inputs, 1, None, seed)
        self.last_scores = run.scores
        samples = self._finish(run)
        return samples.expand(M, *samples.shape[1:]).clone() if M > 1 else samples


class InputXGradient(VanillaGrad):
    """Signed ``(x - baseline) * grad`` (BayesGrad section 2.4; Shrikumar et al.).

    The first-order Taylor estimate of the change in the score when the target
    moves from the baseline to its value.
    """

    def __init__(self, model, layer=None, **kwargs):
        kwargs["multiply_by_inputs"] = True
        super().__init__(model, layer, **kwargs)


class _NoiseMixin:
    """Gaussian noise added at the target, drawn from a seeded ``torch.Generator``.

    ``noise_mode="absolute"``: sigma = ``noise`` (the BayesGrad paper uses a fixed
    sigma, "more stable in our experiment").  ``"relative"``: sigma = ``noise *
    (max - min)`` of the target per example (SmoothGrad's original scaling); for
    node-level graph targets the range is taken over all atoms of the graph; for tuple
    inputs over all attributed inputs of the example together.
    """

    def __init__(self, model, layer=None, noise: float = 0.15, noise_mode: str = "absolute",
                 **kwargs):
        super().__init__(model, layer, **kwargs)
        if noise_mode not in ("absolute", "relative"):
            raise ValueError("noise_mode must be 'absolute' or 'relative'")
        self.noise = float(noise)
        self.noise_mode = noise_mode

    def _compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        M = int(M or self.default_M)
        self._check_dropout()
        run = self._run(inputs, M, self._noise_perturb(seed), seed)
        self.last_scores = run.scores
        return self._finish(run)

    def _noise_perturb(self, seed: Optional[int]):
        generators = {}

        def generator(device):
            key = str(device)
            if key not in generators:
                g = torch.Generator(device=device)
                if seed is None:
                    g.seed()
                else:
                    g.manual_seed(int(seed))
                generators[key] = g
            return generators[key]

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            eps = torch.randn(v.shape, generator=generator(v.device), device=v.device,
                              dtype=v.dtype)
            if self.noise_mode == "absolute":
                return v + self.noise * eps
            k, rows = v.shape[0], v.shape[1]
            flat = v.reshape(k, rows, -1)
            idx = chunk.example_index.unsqueeze(0).expand(k, rows)
            init_hi = torch.full((k, chunk.n_examples), -torch.inf, device=v.device, dtype=v.dtype)
            init_lo = torch.full((k, chunk.n_examples), torch.inf, device=v.device, dtype=v.dtype)
            hi = init_hi.scatter_reduce(1, idx, flat.amax(-1), "amax")
            lo = init_lo.scatter_reduce(1, idx, flat.amin(-1), "amin")
            sigma = self.noise * (hi - lo).gather(1, idx)
            return v + sigma.view(k, rows, *([1] * (v.dim() - 2))) * eps

        return perturb


class SmoothGrad(_NoiseMixin, Attribution):
    """Gradients at ``M`` noisy copies of the target (Smilkov et al.; BayesGrad eq. 2-5).

    ``noise`` is sigma (absolute) or the fraction of the per-example range
    (relative).  The noise is added at the target (the embedding for graphs and
    text: the inputs there are discrete, so noise is only meaningful after
    embedding).  With ``multiply_by_inputs`` the factor is the *un-noised* target
    minus the baseline.
    """

    default_M = 50


class BayesGrad(Attribution):
    """Gradients under ``M`` MC-dropout masks (BayesGrad eq. 7-8).

    The dropout masks are the samples from the approximate posterior over the
    weights; each replicated copy in the batch gets its own mask.  Batch norm
    stays frozen.  ``last_scores`` holds the ``(M, batch)`` sampled predictions,
    whose spread is the predictive uncertainty.
    """

    default_M = 100
    uses_dropout = True

    def _compute(self, inputs, M: Optional[int] = None, seed: Optional[int] = 0) -> Tensor:
        M = int(M or self.default_M)
        self._check_dropout()
        run = self._run(inputs, M, None, seed)
        self.last_scores = run.scores
        return self._finish(run)

    def _check_dropout(self):
        if not has_dropout(self.model):
            warnings.warn("BayesGrad on a model without nn.Dropout modules: all samples "
                          "are identical (VanillaGrad)", stacklevel=4)


class BayesSmoothGrad(_NoiseMixin, BayesGrad):
    """Both at once: a fresh dropout mask and fresh target noise per sample
    (BayesGrad section 3.3)."""

    default_M = 100
