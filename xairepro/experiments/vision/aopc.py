"""Pixel-ablation AOPC (counterfactuals section 2.5, Fig. 5) with the project's one faithfulness
metric: pixels ranked by each method's importance (sum over channels of |attribution|), the top
ones set to the black baseline in all channels, step by step up to a fraction of the image, and
the drop of the top class's softmax probability averaged over the steps.

Methods on the plain classifier: integrated gradients, the gradient at the image, SmoothGrad,
occlusion and the explanation mask. BayesGrad needs dropout, so it is scored on the dropout
variant of the classifier, beside that model's own gradient (and any other listed method): the
two studies are separate rows (``model`` column) because a ranking is only comparable with
rankings of the same network. A random order is the reference in both.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...attribution import BayesGrad, IntegratedGradients, Occlusion, SmoothGrad, VanillaGrad
from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ...evaluation.stats import paired_wilcoxon
from ...evaluation.units import PixelUnit
from .counterfactuals import Softmax
from .data import test_images

__all__ = ["METHODS", "aopc_study", "pixel_attributions", "run_aopc"]

#: Methods this module can score, in display order.
METHODS = ("ig", "gradient", "smoothgrad", "bayesgrad", "occlusion", "mask")


def pixel_attributions(method: str, model: nn.Module, x: torch.Tensor, top: torch.Tensor, cfg: Mapping,
                       ctx: RunContext, mask_net=None) -> torch.Tensor:
    """``(n, C or 1, H, W)`` attributions of the top class's softmax probability.

    ``cfg`` keys: ``ig_steps``, ``mc_samples`` (SmoothGrad and BayesGrad samples),
    ``smoothgrad_noise`` (sigma as a fraction of the image's value range), ``occlusion_window``
    and ``occlusion_stride`` (square patches set to black).
    """
    f = Softmax(model)
    mb, seed = ctx.max_batch, ctx.seed
    if method == "ig":
        return IntegratedGradients(f, target_class=top, steps=int(cfg["ig_steps"]), rule="trapezoid",
                                   keep_grads=False, max_batch=mb).compute(x)[0]
    if method == "gradient":
        return VanillaGrad(f, target_class=top, max_batch=mb).compute(x)[0]
    if method == "smoothgrad":
        s = SmoothGrad(f, target_class=top, noise=float(cfg["smoothgrad_noise"]), noise_mode="relative",
                       max_batch=mb).compute(x, M=int(cfg["mc_samples"]), seed=seed)
        return s.abs().mean(0)
    if method == "bayesgrad":
        s = BayesGrad(f, target_class=top, max_batch=mb).compute(x, M=int(cfg["mc_samples"]), seed=seed)
        return s.abs().mean(0)
    if method == "occlusion":
        w, st = int(cfg["occlusion_window"]), int(cfg["occlusion_stride"])
        occ = Occlusion(f, target_class=top, window=(x.shape[1], w, w), strides=(x.shape[1], st, st),
                        max_batch=mb).compute(x)[0]
        return occ[:, :1]  # every channel holds the same drop
    if method == "mask":
        if mask_net is None:
            raise ValueError("aopc method 'mask' needs the trained mask network")
        with torch.no_grad():
            return mask_net.to(x.device).eval().mask(x)
    raise ValueError(f"unknown aopc method {method!r}; known: {METHODS}")


def _one_model(name: str, model, x, top, methods: Sequence[str], cfg, ctx, mask_net, fractions):
    unit = PixelUnit(baseline=0.0)
    scores = {}
    for m in methods:
        attr = pixel_attributions(m, model, x, top, cfg, ctx, mask_net).detach().cpu()
        scores[m] = [unit.reduce(a) for a in attr]
    per_example, curves = faithfulness_study(
        model, [xi for xi in x.cpu()], scores, unit, fractions=fractions, targets=top.cpu().tolist(),
        score_fn=lambda out: torch.softmax(out.float(), -1), n_random=int(cfg["n_random"]), seed=ctx.seed,
        max_batch=ctx.max_batch)
    summary = faithfulness_summary(per_example)
    for frame in (per_example, curves, summary):
        frame.insert(0, "model", name)
    return per_example, curves, summary


def aopc_study(classifier: nn.Module, dropout_model: nn.Module | None, mask_net, data: Mapping, cfg: Mapping,
               ctx: RunContext) -> dict:
    """Deletion (AOPC) and insertion curves on ``cfg['n_examples']`` test images.

    ``cfg`` keys besides :func:`pixel_attributions`'s: ``steps`` and ``max_fraction`` (the paper:
    50 steps up to 10% of the pixels), ``n_random``, ``methods`` (plain classifier) and
    ``dropout_methods`` (dropout variant). Returns per-example rows, mean curves and the ranked
    summary, each with a ``model`` column (``classifier`` or ``dropout``), and ``stats``: the
    paired Wilcoxon test of IG against the gradient per model (``<model>_ig_vs_gradient``).
    """
    device = ctx.torch_device
    x, _ = test_images(data, int(cfg["n_examples"]), offset=1)
    x = x.to(device)
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    parts = []
    for name, model, methods in (("classifier", classifier, cfg["methods"]),
                                 ("dropout", dropout_model, cfg.get("dropout_methods", []))):
        if model is None or not methods:
            continue
        model = model.to(device).eval()
        with torch.no_grad():
            top = model(x).argmax(1)
        parts.append(_one_model(name, model, x, top, methods, cfg, ctx, mask_net if name == "classifier" else None,
                                fractions))
    per_example, curves, summary = (pd.concat([p[i] for p in parts], ignore_index=True) for i in range(3))
    stats = {"n_examples": int(len(x)), "steps": int(cfg["steps"]),
             "n_pixels_removed": int(round(float(cfg["max_fraction"]) * x.shape[-1] * x.shape[-2]))}
    for name in per_example["model"].unique():
        wide = per_example[per_example["model"] == name].pivot_table(
            index="example", columns="method", values="deletion_aopc")
        if {"ig", "gradient"} <= set(wide):
            stats[f"{name}_ig_vs_gradient"] = paired_wilcoxon(wide["ig"].to_numpy(), wide["gradient"].to_numpy())
    return {"per_example": per_example, "curves": curves, "summary": summary, "stats": stats}


def run_aopc(cache_path, classifier_path, dropout_path, mask_path, cfg: Mapping, ctx: RunContext) -> dict:
    """:func:`aopc_study` on the saved classifier, its dropout variant and the mask network."""
    from ...training import load_checkpoint
    from .data import load_cached
    from .masks import load_mask_net

    device = ctx.torch_device
    classifier, _ = load_checkpoint(classifier_path, device)
    dropout_model = load_checkpoint(dropout_path, device)[0] if dropout_path else None
    mask_net = load_mask_net(mask_path, load_checkpoint(classifier_path, device)[0], device) if mask_path else None
    return aopc_study(classifier, dropout_model, mask_net, load_cached(cache_path), cfg, ctx)
