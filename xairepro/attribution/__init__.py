"""Attribution engine: one API for graphs, images, text, sequences and tables.

``compute(inputs, M, seed)`` returns ``M`` samples ``(M, *input_shape)`` (a tuple of them
for a tuple of inputs); :func:`aggregate` reduces them (chainer-chemistry's Calculator
design) and never sums over the batch.  Names as in captum: ``target=`` is the output
index, ``layer=`` the hooked module (the old ``target=<module>`` and ``target_class=``
still work, with a ``DeprecationWarning``).
Gradients are taken at the input or at any module's output (``layer=``), the
``M`` samples run as replicated batches, and dropout sampling (BayesGrad) is
MC dropout with batch norm frozen.  Models meant for BayesGrad must use
``nn.Dropout`` modules: functional dropout is not sampled.
"""
from .aggregate import aggregate
from .base import Attribution, eval_mode, mc_dropout, replicate
from .gradients import (BayesGrad, BayesSmoothGrad, InputXGradient, SmoothGrad, VanillaGrad,
                        channel_reduce)
from .integrated import IGResult, IntegratedGradients, path_rule
from .occlusion import Occlusion
from .shapley import ShapleySampling
from .counterfactual import Substitution, single_substitution_counterfactuals
from .masks import ExplanationMaskNet

__all__ = [
    "Attribution", "aggregate", "eval_mode", "mc_dropout", "replicate",
    "VanillaGrad", "InputXGradient", "SmoothGrad", "BayesGrad", "BayesSmoothGrad",
    "channel_reduce", "IntegratedGradients", "IGResult", "path_rule",
    "Occlusion", "ShapleySampling", "Substitution", "single_substitution_counterfactuals",
    "ExplanationMaskNet",
]
