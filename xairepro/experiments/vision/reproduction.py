"""CIFAR-10 rows of the reproduction table, keyed by the target ids of :mod:`.targets`."""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from ...report.targets import reproduction_row
from .targets import PAIRED_TEST

__all__ = ["reproduction_from_files", "reproduction_rows"]


def _model_note(metrics: Mapping) -> str:
    k = metrics["kwargs"]
    return (f"pre-activation ResNet-{k.get('depth')} ({k.get('block', 'basic')}), {metrics['epochs']} epochs on "
            f"{metrics['n_train']} training images, {metrics['n_test']} test images of {metrics['source']}"
            + (" (lossy JPEG copy)" if "jpeg" in metrics["source"].lower() else ""))


def reproduction_rows(classifier: Mapping, mask: Mapping, counterfactuals: Mapping, aopc_summary: pd.DataFrame,
                      aopc_stats: Mapping, saliency_n: int, scale: str) -> list[dict]:
    """``classifier``: the training metrics; ``mask``: the mask network's metrics;
    ``counterfactuals``: the saturation/completeness summary; ``aopc_summary``: the ranked
    faithfulness summary (``model`` column); ``aopc_stats``: its integrated-gradients-vs-gradient
    tests (:data:`.targets.PAIRED_TEST`)."""
    note = _model_note(classifier)
    acc = float(classifier["test_accuracy"])
    cls = aopc_summary[aopc_summary["model"] == "classifier"].set_index("method")
    ig_name, grad_name = PAIRED_TEST
    ig, grad = float(cls.loc[ig_name, "deletion_aopc"]), float(cls.loc[grad_name, "deletion_aopc"])
    sat = float(counterfactuals["median_tail_share_softmax"])
    rel = float(counterfactuals["median_rel_error"])
    return [
        reproduction_row("masks.cifar10.test_accuracy", f"{acc:.2%}", scale, note, value=acc),
        reproduction_row("masks.cifar10.masked_accuracy",
                         f"{mask['masked_accuracy']:.2%} masked vs {mask['test_accuracy']:.2%} unmasked; "
                         f"mean mask {mask['mask_mean']:.2f}", scale,
                         f"{mask['share_below_0.5']:.0%} of mask values below 0.5; {note}",
                         value=float(mask["masked_accuracy"]), unmasked=float(mask["test_accuracy"]),
                         mask_mean=float(mask["mask_mean"])),
        reproduction_row("counterfactuals.cifar10.saturation",
                         f"median share of the softmax change in alpha in [0.9, 1]: {sat:.3f}", scale,
                         f"{counterfactuals['n_images']} test images; pre-softmax: "
                         f"{counterfactuals['median_tail_share_logit']:.3f}",
                         median_tail_share=sat, median_tail_share_logit=float(counterfactuals["median_tail_share_logit"])),
        reproduction_row("counterfactuals.cifar10.completeness", f"median relative error {rel:.2%}", scale,
                         f"{counterfactuals['ig_steps']} {counterfactuals['ig_rule']} steps, "
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



def reproduction_from_files(classifier_metrics, mask_metrics, counterfactuals_summary, aopc_summary, aopc_stats,
                            saliency, scale: str) -> list[dict]:
    """:func:`reproduction_rows` from the study outputs on disk (json, json, json, csv, json, npz)."""
    import json

    import numpy as np

    def read(p):
        with open(p) as fh:
            return json.load(fh)

    with np.load(saliency) as sal:
        n = int(len(sal["labels"]))
    return reproduction_rows(read(classifier_metrics), read(mask_metrics), read(counterfactuals_summary),
                             pd.read_csv(aopc_summary), read(aopc_stats), n, scale)
