"""The leaderboard heatmap: methods x experiments, coloured by the normalised faithfulness score."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["leaderboard_heatmap"]


def leaderboard_heatmap(cells: pd.DataFrame, skipped: pd.DataFrame | None = None, ax=None) -> plt.Axes:
    """One cell per (method, experiment): the score (0 = random order, 1 = the best order found) with its
    95% interval and within-experiment rank; a ✗ where the method fails the model-randomisation check;
    grey with "n/a" where the method cannot apply. Methods are sorted by their mean score."""
    experiments = list(dict.fromkeys(cells["experiment"]))
    order = cells.groupby("method")["score"].mean().sort_values(ascending=False).index.tolist()
    if skipped is not None and len(skipped):
        order += [m for m in dict.fromkeys(skipped["method"]) if m not in order]
    grid = np.full((len(order), len(experiments)), np.nan)
    text = [["" for _ in experiments] for _ in order]
    for _, c in cells.iterrows():
        i, j = order.index(c["method"]), experiments.index(c["experiment"])
        grid[i, j] = c["score"]
        mark = " ✗" if c.get("sanity") == "fail" else ""
        text[i][j] = f"{c['score']:.2f}{mark}\n[{c['score_lo']:.2f}, {c['score_hi']:.2f}] #{int(c['rank'])}"
    if skipped is not None:
        for _, s in skipped.iterrows():
            if s["method"] in order and s["experiment"] in experiments:
                i, j = order.index(s["method"]), experiments.index(s["experiment"])
                if np.isnan(grid[i, j]):
                    text[i][j] = "n/a"
    ax = ax or plt.subplots(figsize=(1.55 * len(experiments) + 2.4, 0.52 * len(order) + 1.4))[1]
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("#e6e6e6")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=-0.5, vmax=1.0, aspect="auto")
    for i in range(len(order)):
        for j in range(len(experiments)):
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(experiments)), experiments, rotation=20, ha="right")
    ax.set_yticks(range(len(order)), order)
    ax.set_title("normalised deletion AOPC (0 = random, 1 = best order found); [95% CI] #rank; ✗ fails the "
                 "randomisation check", fontsize=8)
    return ax
