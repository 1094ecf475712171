"""The one settings dict every CIFAR-10 attribution study builds its methods from.

The studies name canonical methods in config (``aopc.methods``, ``aopc.dropout_methods``,
``saliency.methods``) and never branch on a name: each method takes the settings it accepts
(:func:`xairepro.attribution.create_method`). What the settings say, for images:

* ``baselines`` 0.0, the black image (the networks normalize their [0, 1] input inside);
* SmoothGrad and BayesSmoothGrad: ``stdevs`` a fraction of each image's value range
  (``noise_mode="relative"``, SmoothGrad's scaling);
* integrated gradients: ``n_steps`` path points of the trapezoid rule;
* occlusion: square ``(C, w, w)`` patches set to black every ``stride`` pixels;
* Shapley sampling: square ``shapley_patch`` patches as the players (``feature_mask``), the
  permutation estimator against the black baseline, or the chimera one with training images as
  the background (``shapley_background`` of them);
* the explanation mask: the trained mask network of the explained model (when there is one);
* the random order: ``n_random`` orders averaged.

``attribution.method_options`` (``{method: {option: value}}``) overrides settings for one method;
its ``M`` entry is that method's sample count (default ``mc_samples``).
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import torch

from ...context import RunContext
from ..methods import explain
from .data import to_float

__all__ = ["background_images", "explain_images", "pixel_settings", "square_patches"]


def square_patches(height: int, width: int, size: int) -> torch.Tensor:
    """``(height, width)`` integer ids of ``size`` x ``size`` patches, row-major (border patches
    cropped), shared by the channels: Shapley's players."""
    if int(size) < 1:
        raise ValueError(f"shapley_patch must be >= 1, got {size}")
    per_row = -(-int(width) // int(size))
    rows = torch.arange(int(height)) // int(size)
    cols = torch.arange(int(width)) // int(size)
    return rows.view(-1, 1) * per_row + cols.view(1, -1)


def background_images(data: Mapping, n: int) -> Optional[torch.Tensor]:
    """``n`` training images spread over the class-ordered training split (float [0, 1]), the
    chimera Shapley estimator's background; ``None`` when ``n`` is 0."""
    if not n:
        return None
    total = len(data["y_train"])
    step = max(1, total // int(n))
    return to_float(data["x_train"][::step][:int(n)])


def pixel_settings(cfg: Mapping, *, ctx: RunContext, image_shape: Sequence[int] = (3, 32, 32), mask_net=None,
                   background: Optional[torch.Tensor] = None) -> dict:
    """The settings of every method from the ``cfg`` keys a study has (a method whose option is
    absent keeps its own default): ``smoothgrad_noise``, ``ig_steps``, ``occlusion_window`` and
    ``occlusion_stride``, ``shapley_patch`` and ``shapley_estimator``, ``n_random``."""
    c, h, w = (int(v) for v in image_shape)
    settings = {"baselines": 0.0, "max_batch": ctx.max_batch, "noise_mode": "relative", "method": "trapezoid",
                "keep_grads": False, "mask_net": mask_net, "background": background}
    if "smoothgrad_noise" in cfg:
        settings["stdevs"] = float(cfg["smoothgrad_noise"])
    if "ig_steps" in cfg:
        settings["n_steps"] = int(cfg["ig_steps"])
    if "occlusion_window" in cfg:
        win, st = int(cfg["occlusion_window"]), int(cfg["occlusion_stride"])
        settings.update(sliding_window_shapes=(c, win, win), strides=(c, st, st))
    if "shapley_patch" in cfg:
        settings.update(feature_mask=square_patches(h, w, int(cfg["shapley_patch"])),
                        estimator=str(cfg.get("shapley_estimator", "permutation")))
    if "n_random" in cfg:
        settings["n_random"] = int(cfg["n_random"])
    return settings


def explain_images(model, x: torch.Tensor, names: Sequence[str], settings: Mapping, cfg: Mapping, *, target,
                   seed: int, seconds: Optional[dict] = None) -> dict:
    """:func:`xairepro.experiments.methods.explain` of ``x`` for every method in ``names`` (in that
    order), each with its sample count: ``cfg['method_options'][name]['M']``, else ``mc_samples``."""
    options = {name: dict(opts or {}) for name, opts in (cfg.get("method_options") or {}).items()}
    default_m = int(cfg.get("mc_samples", 1))
    by_m: dict[int, list[str]] = {}
    for name in names:
        by_m.setdefault(int(options.get(name, {}).pop("M", default_m)), []).append(name)
    results = {}
    for m, group in by_m.items():
        results.update(explain(model, x, group, settings, M=m, seed=seed, target=target, method_options=options,
                               seconds=seconds))
    return {name: results[name] for name in names}
