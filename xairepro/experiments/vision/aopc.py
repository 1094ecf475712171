"""Pixel-ablation AOPC (counterfactuals section 2.5, Fig. 5) through the project's one faithfulness
protocol (:func:`~xairepro.experiments.suite.faithfulness_suite`): pixels ranked by each method's
importance (sum over channels of |attribution|, the :class:`~xairepro.evaluation.units.PixelUnit`),
the top ones set to the black baseline in all channels, step by step up to a fraction of the image,
and the drop of the top class's softmax probability averaged over the steps; beside it the
methods that did not apply, the model-parameter randomisation check, the informativeness of the
sampling methods' spread and the cost of each method.

Each network is scored with its own list of canonical method names from the config: the plain
classifier (``methods``: every method that can explain it) and its dropout variant
(``dropout_methods``: the MC-dropout methods, which need dropout, with the gradient methods they
are compared with and the random floor), every method built from one settings dict
(:mod:`.settings`). A method that cannot explain a network (BayesGrad without dropout, the
explanation mask of a network no mask was trained for) is listed with the reason in the skipped
table, never silently dropped. The two networks are separate rows (``model`` column): the
leaderboard shows the classifier's cell where a method ran on it, else the dropout variant's.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import torch

from ...context import RunContext
from ...evaluation.sanity import parameter_layers
from ...evaluation.stats import paired_wilcoxon
from ...evaluation.units import PixelUnit
from ..suite import SuiteResult, faithfulness_suite
from .counterfactuals import Softmax
from .data import test_images
from .masks import rewire_mask_net
from .settings import background_images, explain_images, pixel_settings
from .targets import PAIRED_TEST

__all__ = ["MODEL_LISTS", "PAIRED_TEST", "aopc_study", "run_aopc", "sanity_steps"]

#: the network names of the study and the config key of each one's method list
MODEL_LISTS = (("classifier", "methods"), ("dropout", "dropout_methods"))
#: the shared schema's description of this table
SCHEMA = {"experiment": "vision", "modality": "image", "unit": "pixel", "replicate": 0}


def _softmax(out):
    return torch.softmax(out.float(), -1)


def sanity_steps(model, steps) -> tuple[int, ...] | None:
    """The cascade steps of the randomisation check: integers (top layers re-initialised) or the
    words ``top`` (1), ``half`` and ``all`` (of the model's parameter layers); ``None`` skips it."""
    if steps is None:
        return None
    n = len(parameter_layers(model))
    words = {"top": 1, "half": max(1, n // 2), "all": n}
    out = []
    for step in steps:
        if isinstance(step, str):
            if step not in words:
                raise ValueError(f"aopc.sanity_steps: {step!r} is neither an integer nor one of {sorted(words)}")
            step = words[step]
        out.append(int(step))
    return tuple(out)


def aopc_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every table of the faithfulness protocol on ``cfg['n_examples']`` test images.

    ``inputs``: ``data`` (the tensor cache), ``models`` (``{"classifier": ..., "dropout": ...}``,
    either may be missing) and ``mask_nets`` (``{model name: trained mask network}``). ``cfg``:
    ``steps`` and ``max_fraction`` (the paper: 50 steps up to 10% of the pixels), ``sanity_steps``
    (:func:`sanity_steps`; absent: the suite's default 1, half, all), the method lists of
    :data:`MODEL_LISTS`, and the settings of :func:`.settings.pixel_settings` (``mc_samples``,
    ``smoothgrad_noise``, ``ig_steps``, ``occlusion_window``/``occlusion_stride``,
    ``shapley_patch``/``shapley_estimator``/``shapley_background``, ``n_random``,
    ``method_options``).

    Returns the seven tables of :class:`~xairepro.experiments.suite.SuiteResult` (``per_example``,
    ``curves``, ``summary``, ``skipped``, ``sanity``, ``uncertainty``, ``cost``; each with the
    ``model`` column) and ``stats``: per model the paired Wilcoxon test of :data:`PAIRED_TEST`
    (``<model>_integrated_gradients_vs_vanilla_grad``) and each method's seconds.
    """
    device = ctx.torch_device
    data = inputs["data"]
    x, _ = test_images(data, int(cfg["n_examples"]), offset=1)
    x = x.to(device)
    examples = list(x.cpu())
    fractions = np.linspace(0.0, float(cfg["max_fraction"]), int(cfg["steps"]) + 1)
    background = background_images(data, int(cfg.get("shapley_background") or 0))
    unit = PixelUnit(baseline=0.0)
    results = []
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

        def explain_fn(m, seconds, trained=model, mask_net=mask_net, top=top, methods=methods):
            # the mask network reads the features of the model it explains: around a randomised
            # copy it is rewired to that copy's features (its own trained weights kept)
            net = mask_net if mask_net is None or m is trained else rewire_mask_net(mask_net, m)
            settings = pixel_settings(cfg, ctx=ctx, image_shape=tuple(x.shape[1:]), background=background,
                                      mask_net=None if net is None else net.to(device).eval())
            return explain_images(Softmax(m), x, methods, settings, cfg, target=top, seed=ctx.seed, seconds=seconds)

        steps = sanity_steps(model, cfg["sanity_steps"]) if "sanity_steps" in cfg else ()
        res = faithfulness_suite(model, examples, unit, explain_fn, labels=dict(SCHEMA, model=name),
                                 fractions=fractions, targets=top.cpu().tolist(), score_fn=_softmax,
                                 aggregation="abs", max_batch=ctx.max_batch, sanity_steps=steps,
                                 sanity_seed=ctx.seed)
        results.append(res)
        stats["seconds"][name] = dict(zip(res.cost["method"], res.cost["seconds"].astype(float)))
        wide = res.per_example.pivot_table(index="example", columns="method", values="deletion_aopc")
        a, b = PAIRED_TEST
        if {a, b} <= set(wide):
            stats[f"{name}_{a}_vs_{b}"] = paired_wilcoxon(wide[a].to_numpy(), wide[b].to_numpy())
    if not results:
        raise ValueError("aopc: no network to score (models and method lists are empty)")
    out: dict = SuiteResult.concat(results).tables()
    out["stats"] = stats
    return out


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
