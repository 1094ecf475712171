"""The saliency blog's image examples on CIFAR-10: the methods of ``saliency.methods``
(VanillaGrad, SmoothGrad, BayesGrad and BayesSmoothGrad in the blog) side by side for the same
images, on the classifier with dropout before its last layer, each with the standard deviation of
its samples (BayesGrad's is the map's uncertainty).

As in the blog, the explained quantity is the cross-entropy of the top predicted class (here its
log-softmax, which differs only in sign), the gradient is taken at the image, and the samples are
aggregated with ``abs`` and summed over the colour channels (:meth:`Explanation.attribution` and
:meth:`Explanation.spread` with ``channel_axis=-3``).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch
from torch import nn

from ...attribution import mc_dropout
from ...context import RunContext
from ..explainer import applicable
from ..methods import not_applicable_rows
from .data import test_images
from .settings import explainer

__all__ = ["LogSoftmaxScore", "run_saliency", "saliency_study"]


class LogSoftmaxScore(nn.Module):
    """``model`` followed by a log-softmax: the blog explains the cross-entropy of the top class (its
    negative), not the probability that :class:`~xairepro.attribution.SoftmaxScore` gives; the two
    gradients differ by the factor 1/p, which is not constant over SmoothGrad's noisy copies."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model
        self.training = model.training  # as SoftmaxScore: restoring the wrapper's mode keeps the model's

    def forward(self, x):
        return torch.log_softmax(self.model(x).float(), -1)


def saliency_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Arrays for the saliency grid: ``methods`` (the names that applied, in config order), ``maps``
    ``(n_methods, n, H, W)`` (mean over the samples of |attribution| summed over channels),
    ``spread`` (the standard deviation over the samples of the same; zeros for one sample),
    ``skipped_methods`` and ``skipped_reasons`` (names that could not apply to this model), the
    images, labels, top class and its probability, and the MC-dropout mean and spread of that
    probability.

    ``inputs``: ``model`` (the dropout classifier) and ``data``. ``cfg`` keys: ``n_images``,
    ``methods``, ``mc_samples`` (M) and ``method_options`` (``smoothgrad.stdevs``: sigma as a fraction
    of the image's value range, SmoothGrad's scaling).
    """
    device = ctx.torch_device
    model, data = inputs["model"].to(device).eval(), inputs["data"]
    x, y = test_images(data, int(cfg["n_images"]), offset=2)
    x = x.to(device)
    with torch.no_grad():
        probs = torch.softmax(model(x).float(), -1)
    top = probs.argmax(1)
    m, seed = int(cfg["mc_samples"]), ctx.seed
    results = explainer(model, cfg, ctx=ctx, methods=list(cfg["methods"]), score=LogSoftmaxScore).explain(x, top)
    explanations = applicable(results)
    skipped = not_applicable_rows(results)
    shape = (0, len(x), *x.shape[-2:])
    out = {"images": x.cpu().numpy(), "labels": y.numpy(), "top_class": top.cpu().numpy(),
           "top_prob": probs.max(1).values.cpu().numpy(), "methods": np.asarray(list(explanations), dtype=str),
           "maps": np.stack([e.attribution("abs", channel_axis=-3).numpy() for e in explanations.values()])
           if explanations else np.zeros(shape),
           "spread": np.stack([e.spread("abs", channel_axis=-3).numpy() for e in explanations.values()])
           if explanations else np.zeros(shape),
           "skipped_methods": np.asarray([r["method"] for r in skipped], dtype=str),
           "skipped_reasons": np.asarray([r["reason"] for r in skipped], dtype=str)}
    with torch.no_grad(), torch.random.fork_rng(devices=[]), mc_dropout(model):
        torch.manual_seed(seed)  # predictive spread under MC-dropout sampling
        mc = torch.stack([torch.softmax(model(x).float(), -1).gather(1, top.view(-1, 1))[:, 0]
                          for _ in range(m)])
    out["mc_prob_mean"], out["mc_prob_sd"] = mc.mean(0).cpu().numpy(), mc.std(0).cpu().numpy()
    return {k: np.asarray(v) for k, v in out.items()}


def run_saliency(cache_path, model_path, cfg: Mapping, *, ctx: RunContext) -> dict:
    """:func:`saliency_study` on the saved dropout classifier and the cached test split."""
    from ...training import load_checkpoint
    from .data import load_cached

    model, _ = load_checkpoint(model_path, ctx.torch_device)
    return saliency_study({"model": model, "data": load_cached(cache_path)}, cfg, ctx=ctx)
