"""Methods that change how the backward pass crosses a layer: guided backpropagation and Grad-CAM.

* ``guided_backprop`` (Springenberg et al. 2015): the gradient, with every ReLU passing back only the
  positive part of the gradient it receives (and only where its input was positive). Adebayo et al.
  (2018) found its maps nearly unchanged when the network's top layers are randomised: the cascading
  model-randomisation check (:mod:`xairepro.evaluation.sanity`) must fail it.
* ``deeplift`` (in :mod:`.deeplift`) changes the backward pass the same way.
* ``grad_cam`` (Selvaraju et al. 2017): the feature maps of a convolution weighted by their mean gradient,
  summed over the channels (ReLU with ``relu_attributions``), upsampled to the experiment's unit
  (pixels, residues, characters).

Guided backpropagation and DeepLift act on the nonlinearities as the forward pass *calls* them, modules
(``nn.ReLU``) and functions (``F.relu``, ``torch.tanh``) alike (a :class:`~torch.overrides.TorchFunctionMode`
swaps each call for one with the method's backward); captum's ``GuidedBackprop`` and ``DeepLift`` hook
modules only, so on a network written with ``F.relu`` (this project's ResNets) they return the plain
gradient. On networks of modules the results are captum's (``tests/test_layerwise.py``).
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._utils.batching import is_graph_batch
from ._utils.calls import RELU_CALLS, CallRules, source_calls
from ._utils.passes import run_passes
from .core import Attribution, Call, GradientAttribution, Result
from .registry import MethodNotApplicable, register_method

__all__ = ["GradCam", "GuidedBackprop", "cam_to_units"]

#: what a class's source calls when it applies a ReLU as a function (``F.relu``, ``torch.relu``, ``x.relu()``)
_RELU_SOURCE = r"relu_?"
#: the modules that are ReLUs
_RELU_MODULES = (nn.ReLU,)


# ------------------------------------------------------------------ guided backpropagation
class _GuidedReLU(torch.autograd.Function):
    """ReLU forward; backward passes ``relu(grad)`` where the input was positive."""

    @staticmethod
    def forward(ctx, x):
        out = x.clamp_min(0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad.clamp_min(0) * (out > 0).to(grad.dtype)


def _guided(x, *args, **kwargs):
    return _GuidedReLU.apply(x)


def _relu_reason(model) -> Optional[str]:
    if isinstance(model, nn.Module) and any(isinstance(m, _RELU_MODULES) for m in model.modules()):
        return None
    if source_calls(model, _RELU_SOURCE):
        return None
    return ("the model has no ReLU (no nn.ReLU module, no relu call in its forward), and guided "
            "backpropagation only changes how ReLUs pass gradients back: it would be the plain gradient")


@register_method("guided_backprop")
class GuidedBackprop(GradientAttribution):
    """Guided backpropagation (Springenberg et al. 2015) at the input or at a layer: the gradient with
    every ReLU, module or function, passing back only positive gradients where its input was positive
    (captum's ``GuidedBackprop``, which hooks ``nn.ReLU`` modules only). Deterministic: one sample
    whatever ``M``. Not applicable to a model without a ReLU (there it is the plain gradient).

    Adebayo et al. (2018): its maps barely change when the model's top layers are randomised (the
    cascading model-randomisation check, ``sanity_steps`` ``top`` and ``half``), where the gradient's
    change; ``tests/test_layerwise.py`` shows the check failing it on a small CNN. Once every layer,
    the first convolution included, is re-initialised, its maps change too."""

    @classmethod
    def applicable(cls, model, settings):
        return _relu_reason(model)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        with CallRules({f: _guided for f in RELU_CALLS}, owner="guided_backprop") as mode:
            run = self._passes(model, call, inputs, 1, None, seed)
        if not mode.hits:
            raise MethodNotApplicable("guided_backprop: no ReLU ran in the forward pass, so guided "
                                      "backpropagation would be the plain gradient")
        return Result(self._finish(call, run), run.scores)


# ------------------------------------------------------------------------------ Grad-CAM
_CONVS = (nn.Conv1d, nn.Conv2d)


def _last_conv(model) -> Optional[nn.Module]:
    convs = [m for m in model.modules() if isinstance(m, _CONVS)] if isinstance(model, nn.Module) else []
    return convs[-1] if convs else None


def cam_to_units(cam: Tensor, shape: Sequence[int], size: Optional[Sequence[int]] = None,
                 mode: Optional[str] = None) -> Tensor:
    """A class-activation map ``cam`` ``(B, *S)`` as an attribution of the per-example ``shape``.

    A 2-D map (a ``Conv2d``'s) is upsampled over the last two axes of an image ``(C, H, W)`` (``mode``
    default ``bilinear``, Grad-CAM's), a 1-D map (a ``Conv1d``'s) over the rows of a sequence ``(T, C)``
    (default ``linear``), as captum's ``LayerAttribution.interpolate``; ``size`` (default the attributed
    tensor's) is the extent it is upsampled to, of which the first ``H, W`` or ``T`` are read (the
    residues of a peptide before its gap rows). Each unit's value is spread evenly over its channels, so
    a pixel's or a row's sum is the upsampled map's value there."""
    shape = tuple(int(s) for s in shape)
    spatial = cam.dim() - 1
    if spatial == 2 and len(shape) == 3:
        target, default = shape[1:], "bilinear"
    elif spatial == 1 and len(shape) == 2:
        target, default = shape[:1], "linear"
    else:
        raise ValueError(f"grad_cam: a {spatial}-D map of a convolution cannot be laid over an attributed tensor "
                         f"of per-example shape {shape}: a Conv2d map needs images (C, H, W), a Conv1d map "
                         "sequences (T, C)")
    extent = tuple(int(s) for s in (size if size is not None else target))
    if len(extent) != len(target) or any(e < t for e, t in zip(extent, target)):
        raise ValueError(f"grad_cam: cam_size {extent} must cover the attributed extent {target}")
    up = F.interpolate(cam.unsqueeze(1), size=extent, mode=mode or default)[:, 0]
    up = up[(slice(None), *(slice(0, t) for t in target))]
    if spatial == 2:
        return (up.unsqueeze(1) / shape[0]).expand(-1, *shape).contiguous()
    return (up.unsqueeze(-1) / shape[1]).expand(-1, *shape).contiguous()


@register_method("grad_cam")
class GradCam(Attribution):
    """Grad-CAM (Selvaraju et al. 2017; captum's ``LayerGradCam`` then ``LayerAttribution.interpolate``).

    cam_layer
        the convolution (or block of them) whose output ``A`` (``(B, C, *S)``) is weighted; default the
        model's last ``nn.Conv1d``/``nn.Conv2d``. The map is ``sum_c mean_S(dF/dA_c) A_c``, signed (captum's
        default), or with ``relu_attributions`` its positive part (the paper's), which is all zero where
        nothing speaks for the explained score (a binary logit below 0 may have no positive evidence).
    cam_size, interpolate_mode
        how the map reaches the attributed tensor (the input, or ``layer``'s output): :func:`cam_to_units`.

    Deterministic: one sample whatever ``M``. Not applicable to models without a convolution (graph
    networks, recurrent networks, MLPs).
    """

    def __init__(self, model, layer=None, *, cam_layer: Optional[nn.Module] = None,
                 cam_size: Optional[Sequence[int]] = None, interpolate_mode: Optional[str] = None,
                 relu_attributions: bool = False, **kwargs):
        super().__init__(model, layer, **kwargs)
        conv = cam_layer if cam_layer is not None else _last_conv(model)
        if not isinstance(conv, nn.Module):
            raise ValueError("grad_cam: the model has no nn.Conv1d/nn.Conv2d; give cam_layer=<module>")
        self.cam_layer, self.cam_size, self.interpolate_mode = conv, cam_size, interpolate_mode
        self.relu_attributions = bool(relu_attributions)
        self.options.update(cam_layer=conv, cam_size=cam_size, interpolate_mode=interpolate_mode,
                            relu_attributions=self.relu_attributions)

    @classmethod
    def applicable(cls, model, settings):
        if settings.get("cam_layer") is None and _last_conv(model) is None:
            return ("the model has no convolution (no nn.Conv1d/nn.Conv2d), so Grad-CAM has no feature map to "
                    "weight")
        return None

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if is_graph_batch(inputs):
            raise TypeError("grad_cam explains image or sequence batches, not graph batches")
        seen: dict = {}
        handle = None
        if self.layer is not None:
            def hook(module, args, output):
                seen.setdefault("shape", tuple(output.shape[1:]))
            handle = self.layer.register_forward_hook(hook)
        try:
            run = run_passes(model, inputs, n_copies=1, score_fn=call.score_fn, layer=self.cam_layer,
                             layer_io="output", perturb=None, seed=seed, need_grad=True, max_batch=self.max_batch)
        finally:
            if handle is not None:
                handle.remove()
        grads, acts = run.grads[0], run.values[0]                        # (B, C, *S)
        dims = tuple(range(2, grads.dim()))
        cam = (grads.mean(dims, keepdim=True) * acts).sum(1)              # (B, *S)
        if self.relu_attributions:
            cam = cam.clamp_min(0)
        shape = seen["shape"] if self.layer is not None else tuple(inputs.shape[1:])
        return Result(cam_to_units(cam, shape, self.cam_size, self.interpolate_mode).unsqueeze(0), run.scores,
                      extras={"cam": cam})
