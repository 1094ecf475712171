"""CIFAR-10 rows of the reproduction table, keyed by the target ids of :mod:`.targets`."""
from __future__ import annotations

from typing import Mapping, Sequence

import pandas as pd

from ...evaluation.faithfulness import of_operator
from ...report.targets import reproduction_row, seed_summary
from .targets import PAIRED_TEST, TARGETS

__all__ = ["mask_seed_row", "reproduction_from_files", "reproduction_rows"]


def _model_note(metrics: Mapping) -> str:
    k = metrics["kwargs"]
    return (f"pre-activation ResNet-{k.get('depth')} ({k.get('block', 'basic')}), {metrics['epochs']} epochs on "
            f"{metrics['n_train']} training images, {metrics['n_test']} test images of {metrics['source']}"
            + (" (lossy JPEG copy)" if "jpeg" in metrics["source"].lower() else ""))


def mask_seed_row(masks: Sequence[Mapping], scale: str, note: str) -> dict:
    """The masked-accuracy row over mask seeds (``masks``: each seed's mask metrics): per seed the
    measures the target checks, ``ours`` the medians with their range and the seeds that hold."""
    per_seed = [{"seed": int(m.get("seed", i)), "masked_accuracy": float(m["masked_accuracy"]),
                 "unmasked_accuracy": float(m["test_accuracy"]),
                 "accuracy_drop": float(m["test_accuracy"]) - float(m["masked_accuracy"]),
                 "mask_mean": float(m["mask_mean"]), "share_below_0.5": float(m["share_below_0.5"])}
                for i, m in enumerate(masks)]
    masked, drop, mean = (seed_summary([p[k] for p in per_seed]) for k in ("masked_accuracy", "accuracy_drop",
                                                                            "mask_mean"))
    target = next(t for t in TARGETS if t.id == "masks.cifar10.masked_accuracy")
    k, n = target.seed_counts({"per_seed": per_seed})
    ours = (f"{masked['median']:.2%} masked (median of {n} mask seeds, {masked['min']:.2%}-{masked['max']:.2%}) vs "
            f"{per_seed[0]['unmasked_accuracy']:.2%} unmasked; mean mask {mean['median']:.2f}; holds in {k}/{n}")
    detail = ", ".join(f"seed {p['seed']}: {p['masked_accuracy']:.1%} (mask {p['mask_mean']:.2f})" for p in per_seed)
    return reproduction_row("masks.cifar10.masked_accuracy", ours, scale,
                            f"accuracy drop median {drop['median']:.3f} (IQR {drop['iqr']:.3f}); {detail}; {note}",
                            per_seed=per_seed, value=masked["median"], masked_min=masked["min"],
                            masked_max=masked["max"], accuracy_drop_median=drop["median"],
                            mask_mean_median=mean["median"], fraction_holding=k / n if n else None)


def reproduction_rows(classifier: Mapping, masks: Sequence[Mapping], counterfactuals: Mapping,
                      aopc_summary: pd.DataFrame, aopc_stats: Mapping, saliency_n: int, scale: str) -> list[dict]:
    """``classifier``: the training metrics; ``masks``: each mask seed's metrics;
    ``counterfactuals``: the saturation/completeness summary (with ``layers``, the block
    saturation); ``aopc_summary``: the ranked faithfulness summary (``model`` column);
    ``aopc_stats``: its integrated-gradients-vs-gradient tests (:data:`.targets.PAIRED_TEST`)."""
    if isinstance(masks, Mapping):
        masks = [masks]
    note = _model_note(classifier)
    acc = float(classifier["test_accuracy"])
    cls = of_operator(aopc_summary)
    cls = cls[cls["model"] == "classifier"].set_index("method")
    ig_name, grad_name = PAIRED_TEST
    ig, grad = float(cls.loc[ig_name, "deletion_aopc"]), float(cls.loc[grad_name, "deletion_aopc"])
    sat = float(counterfactuals["median_tail_share_softmax"])
    rel = float(counterfactuals["median_rel_error"])
    return [
        reproduction_row("masks.cifar10.test_accuracy", f"{acc:.2%}", scale, note, value=acc),
        mask_seed_row(masks, scale, note),
        reproduction_row("counterfactuals.cifar10.saturation",
                         f"median share of the softmax change in alpha in [0.9, 1]: {sat:.3f}", scale,
                         f"{counterfactuals['n_images']} test images; pre-softmax: "
                         f"{counterfactuals['median_tail_share_logit']:.3f}",
                         median_tail_share=sat, median_tail_share_logit=float(counterfactuals["median_tail_share_logit"])),
        _layer_row(counterfactuals["layers"], scale),
        reproduction_row("counterfactuals.cifar10.completeness", f"median relative error {rel:.2%}", scale,
                         f"{counterfactuals['n_steps']} {counterfactuals['ig_rule']} steps, "
                         f"{counterfactuals['n_images']} images, max {counterfactuals['max_rel_error']:.2%}",
                         median_rel_error=rel, max_rel_error=float(counterfactuals["max_rel_error"])),
        reproduction_row("counterfactuals.cifar10.aopc_ig_vs_gradient",
                         f"AOPC IG {ig:.4f} vs gradient {grad:.4f}", scale,
                         f"{int(cls.loc[ig_name, 'n_examples'])} test images, top {aopc_stats['n_pixels_removed']} "
                         f"pixels in {aopc_stats['steps']} steps; paired Wilcoxon p = "
                         f"{aopc_stats[f'classifier_{ig_name}_vs_{grad_name}']['pvalue']:.3g}",
                         ig_minus_gradient=ig - grad, ig=ig, gradient=grad),
        reproduction_row("blog.cifar10.saliency", f"figure ({saliency_n} test images)", scale,
                         "VanillaGrad, SmoothGrad, BayesGrad, BayesSmoothGrad and the BayesGrad sd map"),
    ]



def _layer_row(layers: Mapping, scale: str) -> dict:
    shares = ", ".join(f"{b} {v:.2f}" for b, v in layers["block_share"].items())
    return reproduction_row(
        "counterfactuals.cifar10.layer_saturation",
        f"smallest block share of the distance change by alpha = {layers['share_alpha']:g}: "
        f"{layers['min_block_share']:.3f} ({layers['min_share_block']})", scale,
        f"{layers['n_images']} test images; median share per block: {shares}; deepest block "
        f"{layers['deepest_block']}: median cosine distance at alpha = {layers['cosine_alpha']:g} "
        f"{layers['deepest_cosine']:.4f} (paper, mixed5b: < 0.01)",
        min_block_share=float(layers["min_block_share"]), deepest_cosine=float(layers["deepest_cosine"]),
        block_share=layers["block_share"])


def reproduction_from_files(classifier_metrics, mask_metrics, counterfactuals_summary, aopc_summary, aopc_stats,
                            saliency, scale: str) -> list[dict]:
    """:func:`reproduction_rows` from the study outputs on disk (json, a list of json (one per mask
    seed), json, csv, json, npz)."""
    import json

    import numpy as np

    def read(p):
        with open(p) as fh:
            return json.load(fh)

    with np.load(saliency) as sal:
        n = int(len(sal["labels"]))
    if isinstance(mask_metrics, (str, bytes)) or hasattr(mask_metrics, "__fspath__"):
        mask_metrics = [mask_metrics]
    return reproduction_rows(read(classifier_metrics), [read(p) for p in mask_metrics], read(counterfactuals_summary),
                             pd.read_csv(aopc_summary), read(aopc_stats), n, scale)
