"""The random order: the floor every attribution method must clear in a faithfulness test.

Its ``M`` samples (default 5) are independent draws of uniform noise shaped like the attributed tensor,
each an alternative ranking of the units; a faithfulness metric evaluates each ranking and
averages the curves (``Explanation.each_sample_is_an_order``), so the floor has little variance of
its own.
"""
from __future__ import annotations

import torch
from torch import Tensor

from ._utils.batching import call_model, first_tensor, is_graph_batch
from ._utils.hooks import replace_layer
from ._utils.modes import eval_mode
from .core import Attribution, Call, Result
from .registry import register_method

__all__ = ["RandomOrder"]


@register_method("random")
class RandomOrder(Attribution):
    """``M`` seeded uniform draws shaped like the attributed tensor, each an order (a study gives
    it its own ``M``, default 5, not the sampling methods' count). No model output is needed, so ``Explanation.output`` is ``None``."""

    default_M = 5
    each_sample_is_an_order = True
    is_floor = True
    integer_inputs = True

    def _shape(self, model, inputs) -> tuple:
        if self.layer is None:
            x = inputs.x if is_graph_batch(inputs) else (inputs if isinstance(inputs, Tensor)
                                                           else first_tensor(inputs)[1])
            return tuple(x.shape)
        seen = {}

        def keep(value):
            seen["shape"] = tuple(value.shape)
            return value
        with eval_mode(model), torch.no_grad(), replace_layer(self.layer, keep, self.layer_io):
            call_model(model, inputs)
        return seen["shape"]

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        gen = torch.Generator().manual_seed(0 if seed is None else int(seed))
        samples = torch.rand((M, *self._shape(model, inputs)), generator=gen, dtype=torch.float32)
        return Result(samples)
