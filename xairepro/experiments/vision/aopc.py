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
are compared with and the random floor), each network explained by the explainer of
:mod:`.settings`. A method that cannot explain a network (BayesGrad without dropout, the
explanation mask of a network no mask was trained for) is listed with the reason in the skipped
table, never silently dropped. The two networks are separate rows (``model`` column): the
leaderboard shows the classifier's cell where a method ran on it, else the dropout variant's.
"""
from __future__ import annotations

from typing import Mapping

import torch

from ...attribution import SoftmaxScore
from ...context import RunContext
from ...evaluation.faithfulness import of_operator
from ...evaluation.stats import paired_wilcoxon
from ..batching import NoGradChunks, with_curve_batch
from ..suite import FaithfulnessSpec, SuiteResult, faithfulness_suite
from .data import test_images
from .settings import UNIT, background_images, explainer, operator_units
from .targets import PAIRED_TEST

__all__ = ["MODEL_LISTS", "PAIRED_TEST", "aopc_study", "run_aopc"]

#: the network names of the study and the config key of each one's method list
MODEL_LISTS = (("classifier", "methods"), ("dropout", "dropout_methods"))
#: the shared schema's description of this table
SCHEMA = {"experiment": "vision", "modality": "image", "unit": "pixel"}


def aopc_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> dict:
    """Every table of the faithfulness protocol on ``cfg['n_examples']`` test images.

    ``inputs``: ``data`` (the tensor cache), ``models`` (``{"classifier": ..., "dropout": ...}``,
    either may be missing), ``mask_nets`` (``{model name: trained mask network}``) and optionally
    ``replicate`` (the model seed ``r`` of the networks, default 0: every row carries it, and the test
    images start at offset ``1 + r`` of the class-ordered split, so the networks of different seeds
    explain different images). ``cfg``:
    ``steps`` and ``max_fraction`` (the paper: 50 steps up to 10% of the pixels), ``sanity_steps``
    (:func:`~xairepro.evaluation.sanity.sanity_steps`; absent: the suite's default 1, half, all),
    ``curve_batch`` (the curves' rows per forward pass by device type, :func:`..batching.curve_batch`), the
    method lists of :data:`MODEL_LISTS`, ``background`` (training images of Shapley's chimera
    estimator), ``mc_samples`` and ``method_options`` (:func:`.settings.explainer`).

    Returns the eight tables of :class:`~xairepro.experiments.suite.SuiteResult` (``per_example``,
    ``curves``, ``summary``, ``skipped``, ``sanity``, ``uncertainty``, ``cost``, ``bounds``; each with
    the ``model`` column) and ``stats``: per model the paired Wilcoxon test of :data:`PAIRED_TEST`
    (``<model>_integrated_gradients_vs_vanilla_grad``) and each method's seconds.
    """
    device = ctx.torch_device
    data = inputs["data"]
    replicate = int(inputs.get("replicate", 0))
    x, _ = test_images(data, int(cfg["n_examples"]), offset=1 + replicate)
    x = x.to(device)
    background = background_images(data, int(cfg.get("background") or 0))
    # the curves' rows per forward pass: the section's value for this device (curve_batch), else max_batch;
    # the same rows for the uncertainty check's single-unit drops (every forward pass without gradients)
    spec = with_curve_batch(FaithfulnessSpec.from_config(UNIT, cfg, ctx=ctx,
                                                         operators=operator_units(data, cfg, seed=ctx.seed)),
                            cfg, ctx)
    rows = spec.max_batch
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
        # pixel importance is the sum over channels of |attribution| (the paper's eq. 1)
        explain = explainer(model, cfg, ctx=ctx, methods=methods, background=background, aggregation="abs",
                            score=lambda m: NoGradChunks(SoftmaxScore(m), rows),
                            mask_net=None if mask_net is None else mask_net.to(device).eval(),
                            image_shape=tuple(x.shape[1:]))
        res = faithfulness_suite(explain, x, spec, labels=dict(SCHEMA, model=name, replicate=replicate),
                                 target=top)
        results.append(res)
        stats["seconds"][name] = dict(zip(res.cost["method"], res.cost["seconds"].astype(float)))
        wide = of_operator(res.per_example).pivot(index="example", columns="method", values="deletion_aopc")
        a, b = PAIRED_TEST
        if {a, b} <= set(wide):
            stats[f"{name}_{a}_vs_{b}"] = paired_wilcoxon(wide[a].to_numpy(), wide[b].to_numpy())
    if not results:
        raise ValueError("aopc: no network to score (models and method lists are empty)")
    out: dict = SuiteResult.concat(results).tables()
    out["stats"] = stats
    return out


def run_aopc(cache_path, classifier_path, dropout_path, mask_path, cfg: Mapping, *, ctx: RunContext,
             replicate: int = 0) -> dict:
    """:func:`aopc_study` on the saved classifier, its dropout variant and the classifier's mask
    network (trained around its own copy of the frozen classifier), all of model seed ``replicate``."""
    from ...training import load_checkpoint
    from .data import load_cached
    from .masks import load_mask_net

    device = ctx.torch_device
    models = {"classifier": load_checkpoint(classifier_path, device)[0]}
    if dropout_path:
        models["dropout"] = load_checkpoint(dropout_path, device)[0]
    mask_nets = {"classifier": load_mask_net(mask_path, load_checkpoint(classifier_path, device)[0], device)} \
        if mask_path else {}
    return aopc_study({"data": load_cached(cache_path), "models": models, "mask_nets": mask_nets,
                       "replicate": replicate}, cfg, ctx=ctx)
