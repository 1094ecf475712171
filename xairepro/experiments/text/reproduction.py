"""IMDB rows of the reproduction table, keyed by the ids declared in ``targets.py``; the mask claims
over mask seeds, one pair of rows per mask reading."""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from ...evaluation.faithfulness import of_operator
from ...names import FLOOR_METHOD
from ...report.targets import reproduction_row, seed_summary
from .mask_readout import TOP_K
from .targets import READING_TARGETS

__all__ = ["reproduction_rows", "mask_rows"]


def _aopc(summary: pd.DataFrame, method: str) -> float:
    row = summary[summary["method"] == method]
    return float(row["deletion_aopc"].iloc[0]) if len(row) else float("nan")


def _share(x: float) -> str:
    return f"{x:.1%}"


def mask_rows(seeds: pd.DataFrame, stability: pd.DataFrame, jaccard: pd.DataFrame, scale: str) -> list[dict]:
    """Masked accuracy and top words of every reading with declared targets, over its mask seeds."""
    rows = []
    for reading, g in seeds.groupby("reading", sort=False):
        if reading not in READING_TARGETS:
            continue
        acc_id, top_id = READING_TARGETS[reading]
        g = g.sort_values("seed")
        acc = seed_summary(g["masked_accuracy"].tolist())
        aopc = seed_summary(g["deletion_aopc"].tolist()) if "deletion_aopc" in g else {"n": 0}
        agree = seed_summary(g["agreement"].tolist())
        note = (f"{int(g['n_test'].iloc[0]):,} test reviews, mask trained on {int(g['n_train'].iloc[0]):,} training "
                f"reviews for {int(g['epochs'].iloc[0])} epoch(s); median agreement with the unmasked model "
                f"{_share(agree['median'])}")
        if aopc["n"]:
            note += (f"; deletion AOPC of the mask on {int(g['n_aopc_reviews'].iloc[0])} attributed reviews median "
                     f"{aopc['median']:.3f} ({aopc['min']:.3f}-{aopc['max']:.3f})")
        rows.append(reproduction_row(
            acc_id, f"median {_share(acc['median'])} over {acc['n']} mask seeds ({_share(acc['min'])}-{_share(acc['max'])})",
            scale, note, per_seed=[{"value": float(v)} for v in g["masked_accuracy"]], masked_accuracy=acc,
            deletion_aopc=aopc))
        cols = [f"top{TOP_K}_positive_polar", f"top{TOP_K}_negative_polar"]
        per_seed = [{c: float(r[c]) for c in cols} for _, r in g.iterrows()]
        st = stability[stability["reading"] == reading]
        jac = jaccard[jaccard["reading"] == reading].set_index("sentiment")["mean_jaccard"]
        n = int(g["seed"].nunique())
        words = {s: ", ".join(f"{r.word} ({round(r.share_of_seeds * n)}/{n})" for r in h.head(TOP_K).itertuples())
                 for s, h in st.groupby("sentiment")}
        ours = (f"positive: {words.get('positive', '-')}; negative: {words.get('negative', '-')}; mean Jaccard of the "
                f"seeds' top {TOP_K}: positive {jac.get('positive', float('nan')):.2f}, "
                f"negative {jac.get('negative', float('nan')):.2f}")
        polar = ", ".join(f"{c.split('_')[1]} {seed_summary(g[c].tolist())['median']:.0%}" for c in cols)
        rows.append(reproduction_row(
            top_id, ours, scale, f"the words most often in a seed's top {TOP_K} (seeds that rank them there); "
            f"median share of the top {TOP_K} leaning to their class: {polar}", per_seed=per_seed,
            jaccard={k: float(v) for k, v in jac.items()}))
    return rows


def reproduction_rows(metrics: Mapping, seeds: pd.DataFrame, stability: pd.DataFrame, jaccard: pd.DataFrame,
                      completeness: pd.DataFrame, saturation: pd.DataFrame, faithfulness: pd.DataFrame, scale: str,
                      model: str = "bigru") -> list[dict]:
    setting = (f"{metrics['n_train']:,} training reviews cut to {metrics['max_len']} tokens, BiGRU "
               f"{metrics['hidden']}, {metrics['epochs']} epochs, {metrics['n_test']:,} test reviews, "
               f"{metrics['device']}")
    rows = [reproduction_row("masks.imdb.test_accuracy", f"{metrics['test_accuracy']:.1%}", scale, setting,
                             value=metrics["test_accuracy"])]
    rows += mask_rows(seeds, stability, jaccard, scale)
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
    faithfulness = of_operator(faithfulness)
    main = faithfulness[faithfulness["model"] == model] if "model" in faithfulness else faithfulness
    ranking = " > ".join(f"{m} {a:.3f}" for m, a in zip(main["method"], main["deletion_aopc"]))
    ig, grad, rnd = (_aopc(main, m) for m in ("integrated_gradients", "vanilla_grad", FLOOR_METHOD))
    rows.append(reproduction_row(
        "counterfactuals.imdb.aopc_ranking", ranking, scale,
        f"deletion AOPC over {int(main['n_examples'].max())} reviews",
        ig_minus_gradient=ig - grad, ig_minus_random=ig - rnd,
        mask_minus_random=_aopc(main, "explanation_mask") - rnd))
    return rows
