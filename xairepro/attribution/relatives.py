"""BayesGrad's relatives: other ways of sampling gradients, on the same replicated-pass engine.

========================  ==================================================================  ===========================
name                      each of the ``M`` samples                                           source
========================  ==================================================================  ===========================
``smoothgrad_sq``         ``g_k ** 2``, g at a noisy copy (SmoothGrad's noise)                Hooker et al. 2019 (ROAR)
``vargrad``               ``(g_k - mean g) ** 2`` over SmoothGrad's samples                   Adebayo et al. 2018
``bayes_vargrad``         ``(g_k - mean g) ** 2`` over BayesGrad's MC-dropout samples         BayesGrad's uncertainty map
``noisegrad``             g under weights ``w * N(1, weight_stdevs^2)``                        Bykov et al., AAAI 2022
``fusiongrad``            g under noisy weights at a noisy copy of the input                  Bykov et al., AAAI 2022
========================  ==================================================================  ===========================

The mean of the samples is the method's map (:meth:`~xairepro.attribution.Explanation.attribution`):
for ``vargrad`` the (population) variance of the gradients, as captum's ``NoiseTunnel(nt_type="vargrad")``
computes it; for ``smoothgrad_sq`` the mean squared gradient (``nt_type="smoothgrad_sq"``). With
``multiply_by_inputs`` each gradient is first ``(x - baseline) * g``.

Weight noise: every parameter of the model (weights, biases, embeddings; not the buffers) is
multiplied elementwise by its own draw of ``N(1, weight_stdevs^2)``, a fresh draw per sample, from a
``torch.Generator`` seeded with the call's seed. Tensor inputs attributed at the input run all ``M``
weight draws as one vectorised pass (``torch.func.functional_call`` under ``torch.vmap``, the copies
chunked by ``max_batch``); at a layer (embeddings, graphs) the draws run one pass each, the weights
perturbed in place and restored exactly afterwards. Both see the same draws and give the same
gradients. On a CPU the vectorised pass is the faster for small networks (an MLP, a 1-D CNN) and a
little slower than one pass per draw for a ResNet-20, whose batched-weight convolutions vmap turns
into grouped ones.
"""
from __future__ import annotations

import contextlib
from typing import Optional

import torch
from torch import Tensor, nn
from torch.func import functional_call

from ._utils.modes import eval_mode
from ._utils.passes import Chunk
from .core import Call, GradientAttribution, Result
from .gradients import BayesGrad, InputNoise, SmoothGrad
from .registry import register_method

__all__ = ["BayesVarGrad", "FusionGrad", "NoiseGrad", "SmoothGradSquared", "VarGrad", "WeightNoise",
           "centred_squares"]


def centred_squares(samples: Tensor) -> Tensor:
    """``(s_k - mean s) ** 2`` over the sample axis 0: their mean is the population variance."""
    return (samples - samples.mean(0, keepdim=True)).pow(2)


@register_method("vargrad")
class VarGrad(SmoothGrad):
    """VarGrad (Adebayo et al. 2018): the variance of SmoothGrad's gradients. Sample ``k`` is
    ``(g_k - mean g) ** 2``, so the mean is the population variance (captum's NoiseTunnel ``vargrad``)."""

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        res = super()._attribute(model, call, inputs, M, seed)
        res.samples = centred_squares(res.samples)
        return res


@register_method("smoothgrad_sq")
class SmoothGradSquared(SmoothGrad):
    """SmoothGrad² (Hooker et al. 2019): the mean of SmoothGrad's squared gradients; sample ``k`` is
    ``g_k ** 2`` (captum's NoiseTunnel ``smoothgrad_sq``)."""

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        res = super()._attribute(model, call, inputs, M, seed)
        res.samples = res.samples.pow(2)
        return res


@register_method("bayes_vargrad")
class BayesVarGrad(BayesGrad):
    """BayesGrad's uncertainty map as a ranking: the variance of the MC-dropout gradients; sample
    ``k`` is ``(g_k - mean g) ** 2``."""

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        res = super()._attribute(model, call, inputs, M, seed)
        res.samples = centred_squares(res.samples)
        return res


#: offset of the weight-noise stream from the call's seed (the input noise draws from the seed itself)
_WEIGHT_STREAM = 7919


def _generator(device, seed: Optional[int]) -> torch.Generator:
    g = torch.Generator(device=device)
    if seed is None:
        g.seed()
    else:
        g.manual_seed(int(seed))
    return g


class WeightNoise:
    """Multiplicative Gaussian noise on every parameter: ``w * N(1, stdevs^2)``, elementwise."""

    def __init__(self, stdevs: float):
        if float(stdevs) < 0:
            raise ValueError(f"weight_stdevs must be >= 0, got {stdevs}")
        self.stdevs = float(stdevs)

    def factors(self, params: list[Tensor], k: int, generator: torch.Generator) -> list[Tensor]:
        """``k`` draws of the factor of each parameter, ``(k, *p.shape)``; drawn sample by sample (every
        parameter of sample 0, then of sample 1, ...), so the draws do not depend on how samples are chunked."""
        draws = [[1.0 + self.stdevs * torch.randn(p.shape, generator=generator, device=p.device, dtype=p.dtype)
                  for p in params] for _ in range(k)]
        return [torch.stack([d[i] for d in draws]) for i in range(len(params))]

    @staticmethod
    @contextlib.contextmanager
    def saved(params: list[Tensor]):
        """Restore the parameters' values exactly on exit."""
        kept = [p.detach().clone() for p in params]
        try:
            yield
        finally:
            with torch.no_grad():
                for p, v in zip(params, kept):
                    p.copy_(v)


@register_method("noisegrad")
class NoiseGrad(GradientAttribution):
    """NoiseGrad (Bykov et al., AAAI 2022): gradients under ``M`` draws of multiplicative Gaussian
    weight noise, ``w * N(1, weight_stdevs^2)`` per parameter element. The model runs in eval mode."""

    default_M = 10

    def __init__(self, model, layer=None, *, weight_stdevs: float = 0.2, **kwargs):
        super().__init__(model, layer, **kwargs)
        self.weight_noise = WeightNoise(weight_stdevs)
        self.options["weight_stdevs"] = float(weight_stdevs)

    @classmethod
    def applicable(cls, model, settings):
        if not isinstance(model, nn.Module) or not any(True for _ in model.parameters()):
            return "the model has no parameters (an nn.Module's weights), so there is no weight noise to sample"
        return None

    def _input_perturb(self, seed):
        return None

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        params = [p for p in self.model.parameters()]
        gen = _generator(params[0].device, None if seed is None else int(seed) + _WEIGHT_STREAM)
        perturb = self._input_perturb(seed)
        if self._vectorises(model, call, inputs):
            return self._vectorised(model, call, inputs, M, gen, perturb)
        grads, scores = [], []
        with self.weight_noise.saved(params):
            clean = [p.detach().clone() for p in params]
            for _ in range(M):
                with torch.no_grad():
                    for p, v, f in zip(params, clean, self.weight_noise.factors(params, 1, gen)):
                        p.copy_(v * f[0])
                run = self._passes(model, call, inputs, 1, perturb, seed)
                grads.append(self._finish(call, run))
                scores.append(run.scores)
        return Result(torch.cat(grads, 0), torch.cat(scores, 0))

    def _vectorises(self, model, call: Call, inputs) -> bool:
        """One ``vmap`` pass serves a tensor batch attributed at the input of the model itself."""
        return self.layer is None and call.flat is None and isinstance(inputs, Tensor) and model is self.model

    def _vectorised(self, model, call: Call, x: Tensor, M: int, gen, perturb) -> Result:
        """All weight draws in one ``vmap`` over ``functional_call`` (chunks of ``max_batch`` rows)."""
        names, params = zip(*model.named_parameters())
        B = x.shape[0]
        per = max(1, self.max_batch // max(1, B))
        grads, scores = [], []
        with eval_mode(model):
            for c0 in range(0, M, per):
                k = min(M, c0 + per) - c0
                factors = self.weight_noise.factors(params, k, gen)
                stacked = {n: p.detach() * f for n, p, f in zip(names, params, factors)}
                xs = x.detach().unsqueeze(0).expand(k, *x.shape)
                if perturb is not None:
                    chunk = Chunk(copies=torch.arange(c0, c0 + k, device=x.device), rows=B,
                                  example_index=torch.arange(B, device=x.device), n_examples=B, start=0, stop=B)
                    xs = perturb(xs, chunk)
                leaf = xs.detach().clone().requires_grad_(True)
                with torch.enable_grad():
                    out = torch.vmap(lambda p, xi: functional_call(model, p, (xi,)), randomness="different")(stacked, leaf)
                    score = call.score_fn(out.reshape(k * B, *out.shape[2:]), 0, B, k)
                    (g,) = torch.autograd.grad(score.sum(), leaf)
                grads.append(g.detach())
                scores.append(score.detach().reshape(k, B))
        g = torch.cat(grads, 0)
        if self.multiply_by_inputs:
            g = (x.detach().unsqueeze(0) - call.baseline_like(g)) * g
        return Result(g, torch.cat(scores, 0))


@register_method("fusiongrad")
class FusionGrad(NoiseGrad):
    """FusionGrad (Bykov et al., AAAI 2022): each sample draws weight noise (as :class:`NoiseGrad`) and
    input noise (as :class:`~xairepro.attribution.SmoothGrad`: ``stdevs``, ``noise_mode``,
    ``noise_projection``) together: one gradient per (weights, input) draw."""

    def __init__(self, model, layer=None, *, stdevs: float = 0.15, noise_mode: str = "absolute",
                 noise_projection=None, **kwargs):
        super().__init__(model, layer, **kwargs)
        self.noise = InputNoise(stdevs, noise_mode, noise_projection)
        self.options.update(stdevs=float(stdevs), noise_mode=noise_mode, noise_projection=noise_projection)

    def _input_perturb(self, seed):
        return self.noise.perturb(seed)
