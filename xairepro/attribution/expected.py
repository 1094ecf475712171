"""Expected gradients (Erion et al., "Improving performance of deep learning models with axiomatic
attribution priors and expected gradients", Nature Machine Intelligence 2021).

Integrated gradients averaged over baselines drawn from the training data: each of the ``M`` samples
draws one baseline ``b`` from the ``background`` set and one ``alpha ~ U(0, 1)`` per example, and is
``(x - b) * grad F(b + alpha (x - b))``; their mean is the Monte-Carlo estimate of
``E_b[IG(x; b)]``, the estimator captum's ``GradientShap`` computes (with ``stdevs=0``). The draws come
from a ``torch.Generator`` seeded with the call's seed, so a seed reproduces them; they are kept in
``Explanation.extras`` (``baseline_index``, ``alpha``: ``(M, batch)``). The ``M`` copies run as
replicated batches, as every gradient method's.
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from ._utils.passes import Chunk
from .core import Call, GradientAttribution, Result
from .registry import register_method

__all__ = ["ExpectedGradients"]


@register_method("expected_gradients")
class ExpectedGradients(GradientAttribution):
    """Expected gradients of a tensor batch ``(B, ...)`` at the input.

    background
        a tensor ``(n_bg, ...)`` of examples with the inputs' per-example shape (the training data, or
        a sample of it), from which each sample draws its baseline uniformly.
    multiply_by_inputs
        True (default): ``(x - b) * gradient``; False: the gradient at the path point alone.
    """

    default_M = 50

    def __init__(self, model, layer=None, *, background: Optional[Tensor] = None, multiply_by_inputs: bool = True,
                 **kwargs):
        if layer is not None:
            raise ValueError("ExpectedGradients draws its baselines from input examples: layer= must be None")
        if not isinstance(background, Tensor) or background.dim() < 1 or background.shape[0] < 1:
            raise ValueError("ExpectedGradients needs background=<tensor (n_bg, ...) of training examples>, got "
                             f"{type(background).__name__}")
        super().__init__(model, None, multiply_by_inputs=multiply_by_inputs, **kwargs)
        self.background = background
        self.options["background"] = background

    @classmethod
    def applicable(cls, model, settings):
        if settings.get("layer") is not None:
            return ("this experiment attributes at a layer (an embedding of atoms, tokens or characters), and "
                    "expected gradients draws its baselines from input examples, which cannot be interpolated "
                    "with discrete inputs or with molecules and texts of other sizes")
        if settings.get("background") is None:
            return "expected gradients draws baselines from a background set of training examples, and none was given"
        return None

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if not isinstance(inputs, Tensor) or call.flat is not None:
            raise TypeError("ExpectedGradients takes one tensor batch (B, ...) (no tuple inputs or extra arguments)")
        bg = self.background.to(device=inputs.device, dtype=inputs.dtype)
        if tuple(bg.shape[1:]) != tuple(inputs.shape[1:]):
            raise ValueError(f"ExpectedGradients: background examples have shape {tuple(bg.shape[1:])}, the inputs "
                             f"{tuple(inputs.shape[1:])}")
        B = inputs.shape[0]
        g = torch.Generator()
        if seed is None:
            g.seed()
        else:
            g.manual_seed(int(seed))
        index = torch.randint(0, bg.shape[0], (M, B), generator=g)
        alpha = torch.rand((M, B), generator=g, dtype=torch.float64)

        def perturb(v: Tensor, chunk: Chunk) -> Tensor:
            copies = chunk.copies.cpu()
            b = bg[index[copies, chunk.start:chunk.stop].to(bg.device)]
            a = alpha[copies, chunk.start:chunk.stop].to(device=v.device, dtype=v.dtype)
            return b + a.view(*a.shape, *([1] * (v.dim() - 2))) * (v - b)

        run = self._passes(model, call, inputs, M, perturb, seed)
        grads = run.grads
        if self.multiply_by_inputs:
            grads = (run.values - bg[index.to(bg.device)]) * grads
        return Result(grads, run.scores, extras={"baseline_index": index, "alpha": alpha.to(inputs.dtype)})
