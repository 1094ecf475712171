"""Pixel-ablation AOPC (counterfactuals section 2.5, Fig. 5) with the project's one faithfulness
metric: pixels ranked by each method's importance (sum over channels of |attribution|, the
:class:`~xairepro.evaluation.units.PixelUnit`), the top ones set to the black baseline in all
channels, step by step up to a fraction of the image, and the drop of the top class's softmax
probability averaged over the steps.

Each network (the plain classifier, its dropout variant) is scored with its own list of canonical
method names from the config (``methods``, ``dropout_methods``), every method built from one
settings dict (:mod:`.settings`). A method that cannot explain a network (BayesGrad without
dropout, the explanation mask of a network no mask was trained for) is listed with the reason in
the skipped table, never silently dropped. The two networks are separate rows (``model`` column):
a ranking is only comparable with rankings of the same network. The ``random`` method is the floor.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ...evaluation.stats import paired_wilcoxon
from ...evaluation.units import PixelUnit
from ..methods import FAITHFULNESS_COLUMNS, SKIPPED_COLUMNS, applicable, faithfulness_rows, skipped_rows
from .counterfactuals import Softmax
from .data import test_images
from .settings import background_images, explain_images, pixel_settings
from .targets import PAIRED_TEST

__all__ = ["MODEL_LISTS", "PAIRED_TEST", "aopc_study", "run_aopc"]

#: the network names of the study and the config key of each one's method list
MODEL_LISTS = (("classifier", "methods"), ("dropout", "dropout_methods"))
#: the shared schema's description of this table
SCHEMA = {"experiment": "vision", "modality": "image", "unit": "pixel", "replicate": 0}


def _softmax(out):
    return torch.softmax(out.float(), -1)


def aopc_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Deletion (AOPC) and insertion curves on ``cfg['n_examples']`` test images.

    ``inputs``: ``data`` (the tensor cache), ``models`` (``{"classifier": ..., "dropout": ...}``,
    either may be missing) and ``mask_nets`` (``{model name: trained mask network}``). ``cfg``:
    ``steps`` and ``max_fraction`` (the paper: 50 steps up to 10% of the pixels), the method lists
    of :data:`MODEL_LISTS`, and the settings of :func:`.settings.pixel_settings` (``mc_samples``,
    ``smoothgrad_noise``, ``ig_steps``, ``occlusion_window``/``occlusion_stride``,
    ``shapley_patch``/``shapley_estimator``/``shapley_background``, ``n_random``,
    ``method_options``).

    Returns ``per_example`` (:data:`~xairepro.experiments.methods.FAITHFULNESS_COLUMNS`), ``skipped``
    (methods that did not apply, with the reason), the mean ``curves`` and the ranked ``summary``
    (each with a ``model`` column), and ``stats``: per model the paired Wilcoxon test of
    :data:`PAIRED_TEST` (``<model>_integrated_gradients_vs_vanilla_grad``) and each method's seconds.
    """
    device = ctx.torch_device
    data = inputs["data"]
    x, _ = test_images(data, int(cfg["n_examples"]), offset=1)
    x = x.to(device)
    examples = list(x.cpu())
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    background = background_images(data, int(cfg.get("shapley_background") or 0))
    unit = PixelUnit(baseline=0.0)
    per_example, skipped, curves, summaries = [], [], [], []
    stats = {"n_examples": int(len(x)), "steps": int(cfg["steps"]),
             "n_pixels_removed": int(round(float(cfg["max_fraction"]) * x.shape[-1] * x.shape[-2])), "seconds": {}}
    for name, key in MODEL_LISTS:
        model, methods = (inputs.get("models") or {}).get(name), list(cfg.get(key) or [])
        if model is None or not methods:
            continue
        model = model.to(device).eval()
        mask_net = (inputs.get("mask_nets") or {}).get(name)
        with torch.no_grad():
            top = model(x).argmax(1)
        settings = pixel_settings(cfg, ctx=ctx, image_shape=tuple(x.shape[1:]), background=background,
                                  mask_net=None if mask_net is None else mask_net.to(device).eval())
        seconds = stats["seconds"][name] = {}
        results = explain_images(Softmax(model), x, methods, settings, cfg, target=top, seed=ctx.seed, seconds=seconds)
        tags = dict(SCHEMA, model=name)
        skipped.append(skipped_rows(results, **tags))
        explanations = applicable(results)
        if not explanations:
            continue
        rows, mean_curves = faithfulness_study(model, examples, explanations, unit, fractions=fractions,
                                               targets=top.cpu().tolist(), score_fn=_softmax, aggregation="abs",
                                               max_batch=ctx.max_batch)
        per_example.append(faithfulness_rows(rows, **tags))
        summary = faithfulness_summary(rows)
        for frame in (mean_curves, summary):
            frame.insert(0, "model", name)
        curves.append(mean_curves)
        summaries.append(summary)
        wide = rows.pivot_table(index="example", columns="method", values="deletion_aopc")
        a, b = PAIRED_TEST
        if {a, b} <= set(wide):
            stats[f"{name}_{a}_vs_{b}"] = paired_wilcoxon(wide[a].to_numpy(), wide[b].to_numpy())

    def cat(frames, columns=None):
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)

    return {"per_example": cat(per_example, list(FAITHFULNESS_COLUMNS)), "skipped": cat(skipped, list(SKIPPED_COLUMNS)),
            "curves": cat(curves), "summary": cat(summaries), "stats": stats}


def run_aopc(cache_path, classifier_path, dropout_path, mask_path, cfg: Mapping, *, ctx: RunContext) -> dict:
    """:func:`aopc_study` on the saved classifier, its dropout variant and the classifier's mask
    network (trained around its own copy of the frozen classifier)."""
    from ...training import load_checkpoint
    from .data import load_cached
    from .masks import load_mask_net

    device = ctx.torch_device
    models = {"classifier": load_checkpoint(classifier_path, device)[0]}
    if dropout_path:
        models["dropout"] = load_checkpoint(dropout_path, device)[0]
    mask_nets = {"classifier": load_mask_net(mask_path, load_checkpoint(classifier_path, device)[0], device)} \
        if mask_path else {}
    return aopc_study({"data": load_cached(cache_path), "models": models, "mask_nets": mask_nets}, cfg, ctx=ctx)
