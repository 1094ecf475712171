"""The saliency blog's image examples on CIFAR-10: VanillaGrad, SmoothGrad, BayesGrad and
BayesSmoothGrad side by side for the same images, on the classifier with dropout before its last
layer, plus the standard deviation of the BayesGrad samples (the map's uncertainty).

As in the blog, the explained quantity is the cross-entropy of the top predicted class (here its
log-softmax, which differs only in sign), the gradient is taken at the image, and the samples are
aggregated with ``abs`` and summed over the colour channels.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import nn

from ...attribution import BayesGrad, BayesSmoothGrad, SmoothGrad, VanillaGrad, aggregate, mc_dropout
from ...context import RunContext
from .counterfactuals import Softmax
from .data import test_images

__all__ = ["BLOG_METHODS", "run_saliency", "saliency_examples"]

BLOG_METHODS = ("vanilla", "smooth", "bayes", "bayes_smooth")


def saliency_examples(model: nn.Module, data: Mapping, cfg: Mapping, ctx: RunContext) -> dict:
    """Maps ``(n, H, W)`` per method, the BayesGrad standard-deviation map, images, labels and the
    MC-dropout spread of the top-class probability.

    ``cfg`` keys: ``n_images``, ``mc_samples`` (M), ``smoothgrad_noise`` (sigma as a fraction of
    the image's value range, SmoothGrad's scaling).
    """
    device = ctx.torch_device
    model = model.to(device).eval()
    x, y = test_images(data, int(cfg["n_images"]), offset=2)
    x = x.to(device)
    with torch.no_grad():
        probs = torch.softmax(model(x).float(), -1)
    top = probs.argmax(1)
    f = Softmax(model, log=True)
    m, noise, seed = int(cfg["mc_samples"]), float(cfg["smoothgrad_noise"]), ctx.seed
    kw = {"target_class": top, "max_batch": ctx.max_batch}
    samples = {
        "vanilla": VanillaGrad(f, **kw).compute(x),
        "smooth": SmoothGrad(f, noise=noise, noise_mode="relative", **kw).compute(x, M=m, seed=seed),
        "bayes": BayesGrad(f, **kw).compute(x, M=m, seed=seed),
        "bayes_smooth": BayesSmoothGrad(f, noise=noise, noise_mode="relative", **kw).compute(x, M=m, seed=seed),
    }
    out = {"images": x.cpu().numpy(), "labels": y.numpy(), "top_class": top.cpu().numpy(),
           "top_prob": probs.max(1).values.cpu().numpy()}
    for name, s in samples.items():
        out[name] = aggregate(s.cpu(), method="abs", channel_axis=-3).numpy()
    _, sd = aggregate(samples["bayes"].cpu(), method="abs", channel_axis=-3, return_std=True)
    out["bayes_sd"] = sd.numpy()
    with torch.no_grad(), torch.random.fork_rng(devices=[]), mc_dropout(model):
        torch.manual_seed(seed)  # predictive spread under MC-dropout sampling
        mc = torch.stack([torch.softmax(model(x).float(), -1).gather(1, top.view(-1, 1))[:, 0]
                          for _ in range(m)])
    out["mc_prob_mean"], out["mc_prob_sd"] = mc.mean(0).cpu().numpy(), mc.std(0).cpu().numpy()
    return {k: np.asarray(v) for k, v in out.items()}


def run_saliency(cache_path, model_path, cfg: Mapping, ctx: RunContext) -> dict:
    """:func:`saliency_examples` on the saved dropout classifier and the cached test split."""
    from ...training import load_checkpoint
    from .data import load_cached

    model, _ = load_checkpoint(model_path, ctx.torch_device)
    return saliency_examples(model, load_cached(cache_path), cfg, ctx)
