"""Attribution methods: one vocabulary for graphs, images, text, sequences and tables.

Every method is registered under one canonical name (:func:`method_names`); a user's own joins
them with :func:`register_method`. One verb, ``compute(inputs, M, *, target, baselines, seed)``,
returns an :class:`Explanation`: the ``M`` samples (after chainer-chemistry's Calculator), what
made them, the explained output, and reductions to the mean, the spread and per-unit scores.
Options are named as captum names them: ``layer=`` the hooked module, ``target=`` the output
index, ``baselines``, ``n_steps``, ``sliding_window_shapes``, ``strides``, ``feature_mask``,
``stdevs``, ``multiply_by_inputs``, ``additional_forward_args``.

=====================  =====================================================================
name                   method
=====================  =====================================================================
vanilla_grad           the gradient (:class:`VanillaGrad`)
input_x_gradient       signed (x - baseline) * gradient (:class:`InputXGradient`)
smoothgrad             gradients at noisy copies (:class:`SmoothGrad`)
bayesgrad              gradients under MC-dropout masks (:class:`BayesGrad`)
bayes_smoothgrad       both (:class:`BayesSmoothGrad`)
integrated_gradients   path integral from the baseline, with completeness (:class:`IntegratedGradients`)
occlusion              drop of the score when a window, row or group is removed (:class:`Occlusion`)
shapley_sampling       sampled Shapley values (:class:`ShapleySampling`)
explanation_mask       the weights of a trained mask network (:class:`ExplanationMask`)
random                 uniform random orders, the floor of every faithfulness test (:class:`RandomOrder`)
vargrad                the variance of SmoothGrad's gradients (:class:`VarGrad`)
smoothgrad_sq          the mean of SmoothGrad's squared gradients (:class:`SmoothGradSquared`)
bayes_vargrad          the variance of BayesGrad's gradients (:class:`BayesVarGrad`)
noisegrad              gradients under multiplicative weight noise (:class:`NoiseGrad`)
fusiongrad             weight noise and input noise together (:class:`FusionGrad`)
expected_gradients     integrated gradients from baselines drawn from a background (:class:`ExpectedGradients`)
captum.<Class>         any captum attribution class (:mod:`.captum_adapter`; resolved on first use)
guided_backprop        the gradient through ReLUs that pass back positive gradients only (:class:`GuidedBackprop`)
deeplift               DeepLift's Rescale rule against the baseline (:class:`DeepLift`)
grad_cam               a convolution's feature maps weighted by their mean gradient, upsampled (:class:`GradCam`)
kernel_shap            Shapley values by weighted regression on coalitions (:class:`KernelShap`)
=====================  =====================================================================

Gradients are taken at the input or at any module's output (``layer=``); the ``M`` samples run as
replicated batches; BayesGrad is MC dropout with batch norm frozen (models meant for it must use
``nn.Dropout`` modules: functional dropout is not sampled).
"""
from ._utils.batching import replicate
from ._utils.hooks import replace_layer
from ._utils.modes import eval_mode, has_dropout, mc_dropout
from ._utils.scores import SoftmaxScore
from .aggregate import aggregate
from .core import Attribution, Call, GradientAttribution, PerturbationAttribution, Result
from .explanation import Explanation
from .registry import (MethodNotApplicable, accepted_options, create_method, floor_methods, method_class, method_names,
                       not_applicable_reason, register_method, register_namespace, unknown_methods)
from .gradients import BayesGrad, BayesSmoothGrad, InputXGradient, SmoothGrad, VanillaGrad, channel_reduce
from .integrated import IGPath, IntegratedGradients, path_rule
from .occlusion import Occlusion
from .shapley import ShapleySampling
from .masks import ExplanationMask, ExplanationMaskNet
from .random_order import RandomOrder
from .counterfactual import Substitution, single_substitution_counterfactuals
from .relatives import BayesVarGrad, FusionGrad, NoiseGrad, SmoothGradSquared, VarGrad
from .expected import ExpectedGradients
from .captum_adapter import CaptumAttribution, captum_method
from .layerwise import GradCam, GuidedBackprop
from .deeplift import DeepLift
from .kernel_shap import KernelShap

__all__ = [
    "Attribution", "GradientAttribution", "PerturbationAttribution", "Call", "Result", "Explanation",
    "SoftmaxScore", "floor_methods", "register_method", "create_method", "method_class", "method_names", "accepted_options",
    "not_applicable_reason", "unknown_methods", "MethodNotApplicable", "register_namespace",
    "CaptumAttribution", "captum_method",
    "aggregate", "eval_mode", "mc_dropout", "has_dropout", "replicate", "replace_layer",
    "VanillaGrad", "InputXGradient", "SmoothGrad", "BayesGrad", "BayesSmoothGrad", "channel_reduce",
    "IntegratedGradients", "IGPath", "path_rule", "Occlusion", "ShapleySampling",
    "ExplanationMask", "ExplanationMaskNet", "RandomOrder",
    "Substitution", "single_substitution_counterfactuals",
    "VarGrad", "SmoothGradSquared", "BayesVarGrad", "NoiseGrad", "FusionGrad", "ExpectedGradients",
    "GuidedBackprop", "GradCam", "DeepLift", "KernelShap",
]
