"""IMDB rows of the reproduction table, keyed by the ids declared in ``targets.py``."""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from ...report.targets import reproduction_row

__all__ = ["reproduction_rows"]


def _aopc(summary: pd.DataFrame, method: str) -> float:
    row = summary[summary["method"] == method]
    return float(row["deletion_aopc"].iloc[0]) if len(row) else float("nan")


def reproduction_rows(metrics: Mapping, mask_metrics: Mapping, completeness: pd.DataFrame,
                      saturation: pd.DataFrame, faithfulness: pd.DataFrame, top: pd.DataFrame,
                      scale: str) -> list[dict]:
    setting = (f"{metrics['n_train']:,} training reviews cut to {metrics['max_len']} tokens, BiGRU "
               f"{metrics['hidden']}, {metrics['epochs']} epochs, {metrics['n_test']:,} test reviews, "
               f"{metrics['device']}")
    rows = [
        reproduction_row("masks.imdb.test_accuracy", f"{metrics['test_accuracy']:.1%}", scale, setting,
                         value=metrics["test_accuracy"]),
        reproduction_row("masks.imdb.masked_accuracy", f"{mask_metrics['masked_accuracy']:.1%}", scale,
                         f"{mask_metrics['n_test']:,} test reviews; agreement with the unmasked model "
                         f"{mask_metrics['agreement']:.1%}; {mask_metrics['epochs']} mask epochs",
                         value=mask_metrics["masked_accuracy"]),
    ]
    words = {s: ", ".join(g.sort_values("rank")["word"].head(5)) for s, g in top.groupby("sentiment")}
    rows.append(reproduction_row("masks.imdb.top_words", f"positive: {words.get('positive', '-')}; "
                                 f"negative: {words.get('negative', '-')}", scale, "mean mask weight per word"))
    med = float(completeness["rel_error"].median())
    rows.append(reproduction_row(
        "counterfactuals.imdb.completeness", f"median error {med:.2%}", scale,
        f"{len(completeness)} reviews, {int(completeness['steps'].max())} path points at most; "
        f"{(completeness['rel_error'] <= 0.01).mean():.0%} of reviews within 1%",
        median_rel_error=med))
    tail = float(saturation["tail_share"].median())
    ratio = float(saturation["gradient_to_ig"].median())
    rows.append(reproduction_row(
        "counterfactuals.imdb.saturation", f"{tail:.1%} of the score change in alpha >= 0.9", scale,
        f"{len(saturation)} reviews; median |sum gradient.x| / |sum IG| = {ratio:.2f}",
        median_tail_share=tail, median_gradient_to_ig=ratio))
    ranking = " > ".join(f"{m} {a:.3f}" for m, a in zip(faithfulness["method"], faithfulness["deletion_aopc"]))
    ig, grad, rnd = (_aopc(faithfulness, m) for m in ("integrated_gradients", "vanilla_grad", "random"))
    rows.append(reproduction_row(
        "counterfactuals.imdb.aopc_ranking", ranking, scale,
        f"deletion AOPC over {int(faithfulness['n_examples'].max())} reviews",
        ig_minus_gradient=ig - grad, ig_minus_random=ig - rnd,
        mask_minus_random=_aopc(faithfulness, "explanation_mask") - rnd))
    return rows
