"""DeepLift (Shrikumar et al. 2017) with the Rescale rule, as captum's ``DeepLift``.

The inputs and their baselines run as one doubled batch ``[x; x']``; each elementwise nonlinearity the
forward pass calls, module or function (:class:`~._utils.calls.CallRules`), passes back
``grad * (f(z) - f(z')) / (z - z')``, with ``z'`` its input on the baseline (its derivative where
``|z - z'| < eps``); the attribution is ``(x - x')`` times that modified gradient, so the attributions add
up to ``F(x) - F(x')``. captum hooks modules only, and its hooks lose that sum where two nonlinearities
follow each other (``tests/test_layerwise.py``); each call here uses its own input and output.
"""
from __future__ import annotations

import functools
import re
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._utils.batching import is_graph_batch
from ._utils.calls import RELU_CALLS, CallRules, source_calls
from ._utils.passes import Chunk, run_passes
from .core import Call, GradientAttribution, Result
from .registry import MethodNotApplicable, register_method

__all__ = ["DeepLift"]


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
    """Softmax over ``dim`` of a doubled batch. A softmax mixes its inputs, so no elementwise Rescale
    multiplier exists; its multipliers are the Jacobian averaged along the straight line from the
    baseline's input to the input (Gauss-Legendre, :data:`SOFTMAX_POINTS` points), which keeps summation
    to delta (captum's softmax rule, Rescale then centring, does not)."""

    @staticmethod
    def forward(ctx, x, dim, eps):
        if x.shape[0] % 2:
            raise RuntimeError("deeplift: softmax ran on a tensor whose first dimension is not the doubled batch")
        ctx.save_for_backward(x)
        ctx.dim = dim if dim < 0 else dim - x.dim()
        return torch.softmax(x, dim)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        xi, xr = x.chunk(2)
        nodes, weights = np.polynomial.legendre.leggauss(SOFTMAX_POINTS)
        shape = (-1,) + (1,) * xi.dim()
        alphas = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device).view(shape)
        w = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device).view(shape)
        prob = torch.softmax(xr.unsqueeze(0) + alphas * (xi - xr).unsqueeze(0), ctx.dim)      # (K, half, ...)
        out = []
        for g in grad.chunk(2):
            vjp = prob * (g.unsqueeze(0) - (g.unsqueeze(0) * prob).sum(ctx.dim, keepdim=True))
            out.append((w * vjp).sum(0))
        return torch.cat(out), None, None


#: quadrature points of the softmax's path-averaged Jacobian
SOFTMAX_POINTS = 64


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
    ``grad * (f(x) - f(x')) / (x - x')`` (its derivative where ``|x - x'| < eps``), a softmax its Jacobian
    averaged from the baseline's input to the input. With ``multiply_by_inputs`` (default) the attribution is
    ``(x - x')`` times that gradient and adds up to ``F(x) - F(x')`` (``Explanation.extras["baseline_score"]``
    is ``F(x')``). Deterministic: one sample whatever ``M``.

    Not applicable, with the reason, to models with a recurrent layer (gates multiply activations) or a
    nonlinearity without a rule here (max pooling, GELU, ...), and to graph batches (found on the inputs).
    """

    def __init__(self, model, layer=None, *, multiply_by_inputs: bool = True, eps: float = 1e-10, **kwargs):
        super().__init__(model, layer, multiply_by_inputs=multiply_by_inputs, **kwargs)
        self.eps = float(eps)
        self.options["eps"] = self.eps

    @classmethod
    def applicable(cls, model, settings):
        return _deeplift_reason(model)

    def _attribute(self, model, call: Call, inputs, M: int, seed) -> Result:
        if is_graph_batch(inputs):
            raise MethodNotApplicable(
                "deeplift: graph batches are not supported: the Rescale rule pairs every activation row with its "
                "baseline row in a doubled batch, and the graph networks' per-atom and per-degree tensors do not "
                "keep that pairing (the attributions would not add up to F(x) - F(baseline))")
        if not isinstance(inputs, Tensor):
            raise TypeError("deeplift takes a tensor batch")
        n = int(inputs.shape[0])
        base = call.baselines
        if callable(base) and not isinstance(base, Tensor):
            if self.layer is not None:
                raise TypeError("a callable baselines= is applied to the inputs; with layer= pass a float or a tensor")
            base = base(inputs)
        # one baseline per example (input attributions): sliced with the batch; else broadcast to every row
        per_example = self.layer is None and isinstance(base, Tensor) and base.dim() == inputs.dim() \
            and base.shape[0] == n and n > 1
        size = max(1, self.max_batch // 2)
        grads, values, scores, ref_scores = [], [], [], []
        with CallRules(_deeplift_rules(self.eps), _NO_RULE_CALLS, owner="deeplift"):
            for start in range(0, n, size):
                stop = min(n, start + size)
                piece = inputs[start:stop]
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
