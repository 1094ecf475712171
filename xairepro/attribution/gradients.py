"""Gradient saliency: VanillaGrad, input x gradient, SmoothGrad, BayesGrad, BayesSmoothGrad.

All are the gradient of the raw score at the attributed tensor, differing only in what is
sampled (BayesGrad paper, sections 2-3):

========================  ======================  =====================
method                    noise at the tensor     dropout (MC) active
========================  ======================  =====================
VanillaGrad               no                      no
SmoothGrad                yes                     no
BayesGrad                 no                      yes
BayesSmoothGrad           yes                     yes
========================  ======================  =====================

Each returns its ``M`` raw gradient samples; norms and the ``raw|abs|square`` averages come
afterwards (:func:`channel_reduce`, :func:`~xairepro.attribution.aggregate`), as chainer-chemistry
separates ``compute`` from ``aggregate``.
"""
from __future__ import annotations

import warnings
from typing import Callable, Optional

import torch
from torch import Tensor

from ._utils.modes import has_dropout
from ._utils.passes import Chunk
from .core import Call, GradientAttribution, Result
from .registry import register_method

__all__ = ["BayesGrad", "BayesSmoothGrad", "InputNoise", "InputXGradient", "SmoothGrad", "VanillaGrad", "channel_reduce",
           "dropout_reason"]


def channel_reduce(grad: Tensor, norm: str = "l2", axis=-1) -> Tensor:
    """Reduce gradients over the channel axis: ``l1`` (sum |g|), ``l2`` (sqrt sum g^2) or ``square``
    (sum g^2). VanillaGrad's importance is the norm of the gradient at a node's features (eq. 1)."""
    if norm == "l1":
        return grad.abs().sum(dim=axis)
    if norm == "l2":
        return grad.pow(2).sum(dim=axis).sqrt()
    if norm == "square":
        return grad.pow(2).sum(dim=axis)
    raise ValueError("norm must be 'l1', 'l2' or 'square'")


@register_method("vanilla_grad")
class VanillaGrad(GradientAttribution):
    """The gradient of the score (Simonyan et al.; BayesGrad eq. 1). Deterministic: one sample
    whatever ``M`` is."""

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        run = self._passes(model, call, inputs, 1, None, seed)
        return Result(self._finish(call, run), run.scores)


@register_method("input_x_gradient")
class InputXGradient(VanillaGrad):
    """Signed ``(x - baseline) * gradient`` (BayesGrad section 2.4; Shrikumar et al.): the first-order
    estimate of the change in the score from the baseline to the value."""

    def __init__(self, model, layer=None, **kwargs):
        kwargs.pop("multiply_by_inputs", None)
        super().__init__(model, layer, multiply_by_inputs=True, **kwargs)


class InputNoise:
    """Gaussian noise at the attributed tensor, from a seeded ``torch.Generator``.

    ``noise_mode="absolute"``: sigma = ``stdevs`` (the BayesGrad paper's fixed sigma);
    ``"relative"``: sigma = ``stdevs * (max - min)`` of the tensor per example (SmoothGrad's scaling;
    over all atoms of a graph, over all attributed inputs of a tuple). ``noise_projection``, a
    callable, maps each noisy value back (the dmol chapter clips one-hot rows to [0, 1] and
    renormalises them).
    """

    def __init__(self, stdevs: float, noise_mode: str, projection: Optional[Callable]):
        if noise_mode not in ("absolute", "relative"):
            raise ValueError("noise_mode must be 'absolute' or 'relative'")
        self.stdevs, self.mode, self.projection = float(stdevs), noise_mode, projection

    def perturb(self, seed: Optional[int]):
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
            eps = torch.randn(v.shape, generator=generator(v.device), device=v.device, dtype=v.dtype)
            if self.mode == "absolute":
                noisy = v + self.stdevs * eps
            else:
                k, rows = v.shape[0], v.shape[1]
                flat = v.reshape(k, rows, -1)
                idx = chunk.example_index.unsqueeze(0).expand(k, rows)
                hi = torch.full((k, chunk.n_examples), -torch.inf, device=v.device, dtype=v.dtype)
                lo = torch.full((k, chunk.n_examples), torch.inf, device=v.device, dtype=v.dtype)
                hi = hi.scatter_reduce(1, idx, flat.amax(-1), "amax")
                lo = lo.scatter_reduce(1, idx, flat.amin(-1), "amin")
                sigma = self.stdevs * (hi - lo).gather(1, idx)
                noisy = v + sigma.view(k, rows, *([1] * (v.dim() - 2))) * eps
            return noisy if self.projection is None else self.projection(noisy)

        return perturb


@register_method("smoothgrad")
class SmoothGrad(GradientAttribution):
    """Gradients at ``M`` noisy copies of the attributed tensor (Smilkov et al.; BayesGrad eq. 2-5).

    ``stdevs``: sigma (absolute) or the fraction of the per-example range (relative). Noise on the
    embedding for graphs and text, whose inputs are discrete. With ``multiply_by_inputs`` the factor
    is the un-noised value minus the baseline.
    """

    default_M = 50

    def __init__(self, model, layer=None, *, stdevs: float = 0.15, noise_mode: str = "absolute",
                 noise_projection: Optional[Callable] = None, **kwargs):
        super().__init__(model, layer, **kwargs)
        self.noise = InputNoise(stdevs, noise_mode, noise_projection)
        self.options.update(stdevs=float(stdevs), noise_mode=noise_mode, noise_projection=noise_projection)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        self._warn_without_dropout(model)
        run = self._passes(model, call, inputs, M, self.noise.perturb(seed), seed)
        return Result(self._finish(call, run), run.scores)

    def _warn_without_dropout(self, model) -> None:
        if self.uses_dropout and not has_dropout(model):
            warnings.warn(f"{type(self).__name__} on a model without nn.Dropout modules: the dropout "
                          "samples are identical", UserWarning, stacklevel=4)


def dropout_reason(model) -> Optional[str]:
    """Why MC dropout cannot sample ``model`` (no ``nn.Dropout`` with p > 0), or ``None``."""
    if not has_dropout(model):
        return "the model has no nn.Dropout module with p > 0, so MC dropout has nothing to sample"
    return None


@register_method("bayesgrad")
class BayesGrad(GradientAttribution):
    """Gradients under ``M`` MC-dropout masks (BayesGrad eq. 7-8): each replicated copy gets its own
    mask, batch norm stays frozen. ``Explanation.output`` holds the ``(M, batch)`` sampled
    predictions, whose spread is the predictive uncertainty."""

    default_M = 100
    uses_dropout = True

    @classmethod
    def applicable(cls, model, settings):
        return dropout_reason(model)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if not has_dropout(model):
            warnings.warn("BayesGrad on a model without nn.Dropout modules: all samples are identical "
                          "(VanillaGrad)", UserWarning, stacklevel=4)
        run = self._passes(model, call, inputs, M, None, seed)
        return Result(self._finish(call, run), run.scores)


@register_method("bayes_smoothgrad")
class BayesSmoothGrad(SmoothGrad):
    """A fresh dropout mask and fresh noise per sample (BayesGrad section 3.3)."""

    default_M = 100
    uses_dropout = True

    @classmethod
    def applicable(cls, model, settings):
        return dropout_reason(model)
