"""Gradients of counterfactuals on CIFAR-10 (Sundararajan, Taly & Yan, sections 2.2-2.4): the top
class's score along the scaling path ``alpha * x`` (saturation, Fig. 2), the activations of every
block along the same path (intermediate-layer saturation, Fig. 12, :mod:`.layers`), the gradients
at points of that path (interior gradients, Fig. 3), and integrated gradients beside the gradient
at the image with the completeness check (Fig. 4, Proposition 1).

F is the softmax probability of the class the model ranks first on the image itself (the
paper's ``Incp^L``); the pre-softmax score is recorded beside it. Pixel importance is the sum over
the colour channels of the absolute attribution (the paper's eq. 1). The baseline is the black
image, which is 0 for these models because they normalize their [0, 1] input internally.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...attribution import IntegratedGradients, SoftmaxScore, VanillaGrad
from ...context import RunContext
from .data import test_images
from .layers import layer_distances, layer_summary
from .targets import LAYER_COSINE_ALPHA, LAYER_SHARE_ALPHA
from ...progress import progress

__all__ = ["counterfactuals_study", "pixel_importance", "run_counterfactuals", "saturation_curves",
           "tail_share"]


def pixel_importance(attr: torch.Tensor) -> torch.Tensor:
    """``(..., C, H, W)`` -> ``(..., H, W)``: sum over channels of |attribution| (paper eq. 1)."""
    return attr.abs().sum(-3)


@torch.no_grad()
def saturation_curves(model: nn.Module, x: torch.Tensor, alphas: np.ndarray, max_batch: int = 2048) -> pd.DataFrame:
    """Softmax and pre-softmax score of each image's top class at ``alpha * x`` for every alpha."""
    model.eval()
    device = next(model.parameters()).device
    x = x.to(device)
    top = model(x).argmax(1)
    a = torch.as_tensor(alphas, dtype=x.dtype, device=device)
    rows = []
    per_chunk = max(1, max_batch // len(a))
    for s in progress(range(0, len(x), per_chunk), "counterfactual chunks", unit="chunk"):
        xb, tb = x[s:s + per_chunk], top[s:s + per_chunk]
        scaled = (a.view(1, -1, 1, 1, 1) * xb.unsqueeze(1)).flatten(0, 1)
        logits = model(scaled).float().view(len(xb), len(a), -1)
        probs = logits.softmax(-1)
        idx = tb.view(-1, 1, 1).expand(-1, len(a), 1)
        for i in range(len(xb)):
            rows += [{"image": s + i, "alpha": float(al), "top_class": int(tb[i]),
                      "softmax": float(probs[i, j].gather(0, idx[i, j])),
                      "logit": float(logits[i, j].gather(0, idx[i, j]))} for j, al in enumerate(alphas)]
    return pd.DataFrame(rows)


def tail_share(curves: pd.DataFrame, value: str = "softmax", start: float = 0.9) -> pd.Series:
    """Per image: the share of the score's total change over the path that happens for alpha in
    [start, 1] (near 0 when the score has saturated before ``start``)."""
    def share(g):
        g = g.sort_values("alpha")
        f = g[value].to_numpy()
        at = np.interp(start, g["alpha"].to_numpy(), f)
        total = f[-1] - f[0]
        return abs(f[-1] - at) / abs(total) if abs(total) > 1e-12 else np.nan
    return curves.groupby("image").apply(share, include_groups=False)


def _interior(model, x, top, alphas, max_batch):
    """Gradients of the top-class softmax at ``alpha * x``: ``(n_alpha, n, C, H, W)``."""
    grad = VanillaGrad(SoftmaxScore(model), target=top, max_batch=max_batch)
    return torch.stack([grad.compute(float(a) * x).samples[0] for a in alphas])


def counterfactuals_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Everything the saturation, interior-gradient and IG-vs-gradient figures need.

    ``inputs``: ``model`` (the classifier) and ``data`` (the tensor cache). ``cfg`` keys:
    ``n_images`` (test images on the saturation plot and the completeness table), ``n_alphas``
    (points of the saturation curves), ``interior_alphas`` and ``n_interior`` (images of Fig. 3),
    ``n_grid`` (rows of Fig. 4), ``n_steps`` (integrated gradients' path points,
    ``vision.attribution.method_options.integrated_gradients.n_steps``) and ``ig_rule``. A study of integrated gradients
    itself (its path and completeness), so it builds that method directly. ``layers``: every
    block's distance to its activations at the image along the same alphas (summary ``layers``).
    """
    device = ctx.torch_device
    model, data = inputs["model"].to(device).eval(), inputs["data"]
    x, y = test_images(data, int(cfg["n_images"]))
    x = x.to(device)
    path = np.linspace(0.0, 1.0, int(cfg["n_alphas"]))
    curves = saturation_curves(model, x, path, ctx.max_batch)
    layers = layer_distances(model, x, path, ctx.max_batch)
    top = torch.tensor(curves.groupby("image")["top_class"].first().to_numpy(), device=device)

    alphas = [float(a) for a in cfg["interior_alphas"]]
    grads = _interior(model, x, top, alphas, ctx.max_batch)            # (A, n, C, H, W)
    maps = pixel_importance(grads)                                      # (A, n, H, W)
    trend = pd.DataFrame([{"image": i, "alpha": a, "mean_abs_grad": float(grads[j, i].abs().mean())}
                          for j, a in enumerate(alphas) for i in range(len(x))])

    ig = IntegratedGradients(SoftmaxScore(model), target=top, n_steps=int(cfg["n_steps"]),
                             method=cfg.get("ig_rule", "riemann_right"), keep_grads=False,
                             max_batch=ctx.max_batch)
    explanation = ig.compute(x)
    ig_attr, res = explanation.samples[0], explanation.path
    grad_attr = grads[alphas.index(1.0)] if 1.0 in alphas else _interior(model, x, top, [1.0], ctx.max_batch)[0]
    completeness = pd.DataFrame({
        "image": np.arange(len(x)), "label": y.numpy(), "top_class": top.cpu().numpy(),
        "score": res.score.cpu().numpy(), "baseline_score": res.baseline_score.cpu().numpy(),
        "ig_sum": res.attribution_sum.cpu().numpy(), "abs_error": res.abs_error.cpu().numpy(),
        "rel_error": res.rel_error.cpu().numpy()})
    completeness["delta"] = completeness["score"] - completeness["baseline_score"]
    n_int, n_grid = int(cfg["n_interior"]), int(cfg["n_grid"])
    arrays = {
        "images": x.cpu().numpy(), "labels": y.numpy(), "top_class": top.cpu().numpy(),
        "scores": res.score.cpu().numpy(), "interior_alphas": np.asarray(alphas),
        "interior_maps": maps[:, :n_int].transpose(0, 1).cpu().numpy(),   # (n_interior, A, H, W)
        "ig_maps": pixel_importance(ig_attr[:n_grid]).cpu().numpy(),
        "grad_maps": pixel_importance(grad_attr[:n_grid]).cpu().numpy(),
    }
    summary = {"n_images": int(len(x)), "n_steps": int(cfg["n_steps"]), "ig_rule": ig.rule,
               "median_tail_share_softmax": float(tail_share(curves, "softmax").median()),
               "median_tail_share_logit": float(tail_share(curves, "logit").median()),
               "median_share_after_0.2_softmax": float(tail_share(curves, "softmax", 0.2).median()),
               "median_rel_error": float(completeness["rel_error"].median()),
               "max_rel_error": float(completeness["rel_error"].max()),
               "mean_abs_grad_by_alpha": trend.groupby("alpha")["mean_abs_grad"].mean().to_dict(),
               "layers": layer_summary(layers, LAYER_SHARE_ALPHA, LAYER_COSINE_ALPHA)}
    return {"curves": curves, "layers": layers, "trend": trend, "completeness": completeness, "arrays": arrays,
            "summary": summary}


def run_counterfactuals(cache_path, model_path, cfg: Mapping, *, ctx: RunContext) -> dict:
    """:func:`counterfactuals_study` on the saved classifier and the cached test split."""
    from ...training import load_checkpoint
    from .data import load_cached

    model, _ = load_checkpoint(model_path, ctx.torch_device)
    return counterfactuals_study({"model": model, "data": load_cached(cache_path)}, cfg, ctx=ctx)
