"""Methods that change how the backward pass crosses a layer: guided backpropagation, DeepLift, Grad-CAM.

* ``guided_backprop`` (Springenberg et al. 2015): the gradient, with every ReLU passing back only the
  positive part of the gradient it receives (and only where its input was positive). Adebayo et al.
  (2018) found its maps nearly unchanged when the network's weights are randomised: the model
  randomisation check (:mod:`xairepro.evaluation.sanity`) must fail it.
* ``deeplift`` (Shrikumar et al. 2017, the Rescale rule, as captum's ``DeepLift``): each elementwise
  nonlinearity passes back ``grad * (f(x) - f(x')) / (x - x')``, with ``x'`` its input on the baseline
  (the plain derivative where ``|x - x'| < 1e-10``); the attribution is ``(input - baseline)`` times that
  modified gradient, so the attributions add up to ``F(x) - F(baseline)``.
* ``grad_cam`` (Selvaraju et al. 2017): the feature maps of a convolution weighted by their mean gradient,
  summed over the channels, ReLU, upsampled to the experiment's unit (pixels, residues, characters).

Guided backpropagation and DeepLift act on the nonlinearities as the forward pass *calls* them, modules
(``nn.ReLU``) and functions (``F.relu``, ``torch.tanh``) alike (a :class:`~torch.overrides.TorchFunctionMode`
swaps each call for one with the method's backward); captum's ``GuidedBackprop`` and ``DeepLift`` hook
modules only, so on a network written with ``F.relu`` (this project's ResNets) they return the plain
gradient. On networks of modules the results are captum's (``tests/test_layerwise.py``).
"""
from __future__ import annotations

import functools
import inspect
import re
from typing import Callable, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from ._utils.batching import is_graph_batch
from ._utils.passes import Chunk, run_passes
from .core import Call, GradientAttribution, Result
from .registry import MethodNotApplicable, register_method

__all__ = ["DeepLift", "GradCam", "GuidedBackprop", "cam_to_units", "source_calls"]

#: every way the project's models call a ReLU
RELU_CALLS = (F.relu, torch.relu, torch.relu_, Tensor.relu, Tensor.relu_)
#: what a class's source calls when it applies a ReLU as a function (``F.relu``, ``torch.relu``, ``x.relu()``)
_RELU_SOURCE = r"relu_?"
#: the modules that are ReLUs
_RELU_MODULES = (nn.ReLU,)


@functools.lru_cache(maxsize=None)
def _class_source(cls: type) -> str:
    try:
        return inspect.getsource(cls)
    except (OSError, TypeError):
        return ""


def source_calls(model, pattern: str) -> list[str]:
    """``Class.name`` for every call matching ``pattern`` (a regex of function names, e.g. ``relu_?``) in
    the source of the model's own module classes (those not defined by torch): what the forward passes
    apply as functions, where no module shows it. A static reading, used to say before any pass whether a
    method has something to act on."""
    found: list[str] = []
    call = re.compile(rf"(?:\bF|\btorch|\.)\.?({pattern})\s*\(")
    for cls in dict.fromkeys(type(m) for m in (model.modules() if isinstance(model, nn.Module) else [])):
        if cls.__module__.startswith("torch."):
            continue
        for name in dict.fromkeys(m.group(1) for m in call.finditer(_class_source(cls))):
            found.append(f"{cls.__name__}.{name}")
    return found


class _Calls(TorchFunctionMode):
    """Within the block, each call of a function of ``rules`` (``{function: replacement}``) runs its
    replacement; ``refused`` (``{function: why}``) raise :class:`MethodNotApplicable`. ``hits`` counts
    the replaced calls."""

    def __init__(self, rules: dict, refused: Optional[dict] = None, owner: str = ""):
        super().__init__()
        self.rules, self.refused, self.owner, self.hits = rules, refused or {}, owner, 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        rule = self.rules.get(func)
        if rule is not None:
            self.hits += 1
            return rule(*args, **kwargs)
        why = self.refused.get(func)
        if why is not None:
            raise MethodNotApplicable(f"{self.owner}: the forward pass calls {getattr(func, '__name__', func)}, {why}")
        return func(*args, **kwargs)


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

    Adebayo et al. (2018): its maps barely change when the model's weights are randomised, so it fails
    the model-randomisation sanity check; the project's unit test shows that on a small CNN."""

    @classmethod
    def applicable(cls, model, settings):
        return _relu_reason(model)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        with _Calls({f: _guided for f in RELU_CALLS}, owner="guided_backprop") as mode:
            run = self._passes(model, call, inputs, 1, None, seed)
        if not mode.hits:
            raise MethodNotApplicable("guided_backprop: no ReLU ran in the forward pass, so guided "
                                      "backpropagation would be the plain gradient")
        return Result(self._finish(call, run), run.scores)


# ------------------------------------------------------------------------------ DeepLift
class _Rescale(torch.autograd.Function):
    """An elementwise nonlinearity ``fn`` on a doubled batch ``[x; x']``: forward ``fn``; backward the
    Rescale multiplier ``(fn(x) - fn(x')) / (x - x')`` for both halves (the derivative where
    ``|x - x'| < eps``), as captum's ``nonlinear`` rule."""

    @staticmethod
    def forward(ctx, x, fn, eps):
        if x.shape[0] % 2:
            raise RuntimeError("deeplift: a nonlinearity ran on a tensor whose first dimension is not the doubled "
                               f"batch [inputs; baselines] ({tuple(x.shape)}); DeepLift needs batch-first activations")
        with torch.enable_grad():
            xd = x.detach().requires_grad_(True)
            y = fn(xd)
            (slope,) = torch.autograd.grad(y.sum(), xd)
        out = y.detach()
        xi, xr = x.chunk(2)
        oi, orf = out.chunk(2)
        ctx.save_for_backward(slope, torch.cat([xi - xr] * 2), torch.cat([oi - orf] * 2))
        ctx.eps = eps
        return out

    @staticmethod
    def backward(ctx, grad):
        slope, d_in, d_out = ctx.saved_tensors
        small = d_in.abs() < ctx.eps
        ratio = d_out / torch.where(small, torch.ones_like(d_in), d_in)
        return torch.where(small, grad * slope, grad * ratio), None, None


class _RescaleSoftmax(torch.autograd.Function):
    """Softmax over ``dim`` of a doubled batch: captum's softmax rule (Rescale, then the multipliers
    centred), centred over the softmax's axis of each row (captum centres over the whole tensor,
    which mixes the examples of a batch)."""

    @staticmethod
    def forward(ctx, x, dim, eps):
        if x.shape[0] % 2:
            raise RuntimeError("deeplift: softmax ran on a tensor whose first dimension is not the doubled batch")
        out = torch.softmax(x, dim)
        xi, xr = x.chunk(2)
        oi, orf = out.chunk(2)
        ctx.save_for_backward(out, torch.cat([xi - xr] * 2), torch.cat([oi - orf] * 2))
        ctx.dim, ctx.eps = dim, eps
        return out

    @staticmethod
    def backward(ctx, grad):
        out, d_in, d_out = ctx.saved_tensors
        plain = out * (grad - (grad * out).sum(ctx.dim, keepdim=True))
        small = d_in.abs() < ctx.eps
        new = torch.where(small, plain, grad * d_out / torch.where(small, torch.ones_like(d_in), d_in))
        return new - new.mean(ctx.dim, keepdim=True), None, None


def _deeplift_rules(eps: float) -> dict:
    def softmax(x, dim=None, *args, dtype=None, **kwargs):
        if dim is None:
            raise ValueError("deeplift: softmax without dim=")
        return _RescaleSoftmax.apply(x if dtype is None else x.to(dtype), dim, eps)

    relu = lambda x, *a, **k: _Rescale.apply(x, torch.relu, eps)  # noqa: E731 (inplace= ignored)
    rules = {f: relu for f in RELU_CALLS}
    rules.update({f: (lambda x, *a, **k: _Rescale.apply(x, torch.tanh, eps)) for f in (torch.tanh, Tensor.tanh, F.tanh)})
    rules.update({f: (lambda x, *a, **k: _Rescale.apply(x, torch.sigmoid, eps))
                  for f in (torch.sigmoid, Tensor.sigmoid, F.sigmoid)})
    rules[F.elu] = lambda x, alpha=1.0, inplace=False: _Rescale.apply(x, functools.partial(F.elu, alpha=alpha), eps)
    rules[F.leaky_relu] = lambda x, negative_slope=0.01, inplace=False: _Rescale.apply(
        x, functools.partial(F.leaky_relu, negative_slope=negative_slope), eps)
    rules[F.softplus] = lambda x, beta=1.0, threshold=20.0: _Rescale.apply(
        x, functools.partial(F.softplus, beta=beta, threshold=threshold), eps)
    rules.update({f: softmax for f in (torch.softmax, F.softmax, Tensor.softmax)})
    return rules


#: functions without a DeepLift rule here (captum's rules cover its SUPPORTED_NON_LINEAR modules)
_NO_RULE = "max_pool\\w*|adaptive_max_pool\\w*|gelu|silu|mish|hardtanh|relu6|hardswish|log_softmax|logsigmoid"
_NO_RULE_CALLS = {f: "which has no DeepLift rule here (Rescale covers ReLU, ELU, leaky ReLU, sigmoid, tanh, "
                     "softplus and softmax)"
                  for f in (F.max_pool1d, F.max_pool2d, F.max_pool3d, torch.max_pool1d, torch.max_pool2d,
                            torch.max_pool3d, F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.gelu, F.silu,
                            F.log_softmax, torch.log_softmax, Tensor.log_softmax, F.hardtanh, F.relu6)}
_NO_RULE_MODULES = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
                    nn.GELU, nn.SiLU, nn.Mish, nn.Hardtanh, nn.ReLU6, nn.Hardswish, nn.LogSoftmax,
                    nn.LogSigmoid, nn.MultiheadAttention)
_RECURRENT = re.compile(r"(GRU|LSTM|RNN)(Cell)?$")


def _deeplift_reason(model) -> Optional[str]:
    if not isinstance(model, nn.Module):
        return "DeepLift reads the model's layers, and this model is not an nn.Module"
    for m in model.modules():
        if isinstance(m, (nn.RNNBase, nn.RNNCellBase)) or _RECURRENT.search(type(m).__name__):
            return (f"the model has a recurrent layer ({type(m).__name__}): its gates multiply activations, and "
                    "DeepLift's Rescale rule covers elementwise nonlinearities only (captum's DeepLift passes "
                    "plain gradients through such products)")
        if isinstance(m, _NO_RULE_MODULES):
            return (f"the model has a {type(m).__name__} layer, for which there is no DeepLift rule here "
                    "(Rescale covers ReLU, ELU, leaky ReLU, sigmoid, tanh, softplus and softmax)")
    calls = source_calls(model, _NO_RULE)
    if calls:
        return (f"the forward pass calls {', '.join(calls)}, for which there is no DeepLift rule here (Rescale "
                "covers ReLU, ELU, leaky ReLU, sigmoid, tanh, softplus and softmax)")
    return None


@register_method("deeplift")
class DeepLift(GradientAttribution):
    """DeepLift with the Rescale rule (Shrikumar et al. 2017; captum's ``DeepLift``) at the input or at a
    layer, against ``baselines`` (the reference input, or the reference value of the layer's output).

    The inputs and the baselines run as one doubled batch; every elementwise nonlinearity the forward pass
    calls (ReLU, ELU, leaky ReLU, sigmoid, tanh, softplus, as modules or functions) passes back
    ``grad * (f(x) - f(x')) / (x - x')`` (its derivative where ``|x - x'| < eps``), a softmax the same with
    the multipliers centred over its axis. With ``multiply_by_inputs`` (default) the attribution is
    ``(x - x')`` times that gradient and adds up to ``F(x) - F(x')`` (``Explanation.extras["baseline_score"]``
    is ``F(x')``). Deterministic: one sample whatever ``M``.

    Not applicable, with the reason, to models with a recurrent layer (gates multiply activations) or a
    nonlinearity without a rule here (max pooling, GELU, ...).
    """

    def __init__(self, model, layer=None, *, multiply_by_inputs: bool = True, eps: float = 1e-10, **kwargs):
        super().__init__(model, layer, multiply_by_inputs=multiply_by_inputs, **kwargs)
        self.eps = float(eps)
        self.options["eps"] = self.eps

    @classmethod
    def applicable(cls, model, settings):
        return _deeplift_reason(model)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        graph = is_graph_batch(inputs)
        if not graph and not isinstance(inputs, Tensor):
            raise TypeError("deeplift takes a tensor batch or a graph batch")
        n = int(inputs.num_graphs) if graph else int(inputs.shape[0])
        base = call.baselines
        if callable(base) and not isinstance(base, Tensor):
            if self.layer is not None:
                raise TypeError("a callable baselines= is applied to the inputs; with layer= pass a float or a tensor")
            base = base(inputs)
        per_example = isinstance(base, Tensor) and not graph and base.dim() > 0 and base.shape[0] == n and n > 1 \
            and base.dim() == (inputs.dim() if self.layer is None else base.dim())
        size = n if graph else max(1, self.max_batch // 2)
        grads, values, scores, ref_scores = [], [], [], []
        with _Calls(_deeplift_rules(self.eps), _NO_RULE_CALLS, owner="deeplift"):
            for start in range(0, n, size):
                stop = min(n, start + size)
                piece = inputs if graph else inputs[start:stop]
                b = base[start:stop] if per_example else base

                def perturb(v: Tensor, chunk: Chunk, b=b) -> Tensor:
                    ref = torch.as_tensor(b, device=v.device, dtype=v.dtype).expand_as(v[0])
                    is_ref = (chunk.copies.to(v.device) == 1).view(-1, *([1] * (v.dim() - 1)))
                    return torch.where(is_ref, ref.unsqueeze(0), v)

                def score_fn(output, s, e, k, offset=start):
                    return call.score_fn(output, s + offset, e + offset, k)

                run = run_passes(model, piece, n_copies=2, score_fn=score_fn, layer=self.layer,
                                 layer_io=self.layer_io, perturb=perturb, seed=seed, need_grad=True,
                                 max_batch=2 * (stop - start))
                grads.append(run.grads[0])
                values.append(run.values[0] - torch.as_tensor(b, device=run.values.device,
                                                              dtype=run.values.dtype))
                scores.append(run.scores[0])
                ref_scores.append(run.scores[1])
        grad, delta = torch.cat(grads), torch.cat(values)
        attr = delta * grad if self.multiply_by_inputs else grad
        return Result(attr.unsqueeze(0), torch.cat(scores).unsqueeze(0),
                      extras={"baseline_score": torch.cat(ref_scores)})


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
class GradCam(GradientAttribution):
    """Grad-CAM (Selvaraju et al. 2017; captum's ``LayerGradCam`` then ``LayerAttribution.interpolate``).

    cam_layer
        the convolution (or block of them) whose output ``A`` (``(B, C, *S)``) is weighted; default the
        model's last ``nn.Conv1d``/``nn.Conv2d``. The map is ``sum_c mean_S(dF/dA_c) A_c``, then ReLU
        (``relu_attributions``, the paper's; captum's default is off).
    cam_size, interpolate_mode
        how the map reaches the attributed tensor (the input, or ``layer``'s output): :func:`cam_to_units`.

    Deterministic: one sample whatever ``M``. Not applicable to models without a convolution (graph
    networks, recurrent networks, MLPs).
    """

    def __init__(self, model, layer=None, *, cam_layer: Optional[nn.Module] = None,
                 cam_size: Optional[Sequence[int]] = None, interpolate_mode: Optional[str] = None,
                 relu_attributions: bool = True, **kwargs):
        kwargs.pop("multiply_by_inputs", None)
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
