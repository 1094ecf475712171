"""The leaderboard heatmap: methods x experiments, coloured by the normalised faithfulness score."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

__all__ = ["CELL_FONT", "WIDTH_IN", "leaderboard_heatmap"]

#: Cell text size in points, and the figure's smallest width in inches (1,250 px at 130 dpi).
CELL_FONT = 9
WIDTH_IN = 9.6


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
        text[i][j] = f"{c['score']:.2f} #{int(c['rank'])}{mark}\n[{c['score_lo']:.2f}, {c['score_hi']:.2f}]"
    if skipped is not None:
        for _, s in skipped.iterrows():
            if s["method"] in order and s["experiment"] in experiments:
                i, j = order.index(s["method"]), experiments.index(s["experiment"])
                if np.isnan(grid[i, j]):
                    text[i][j] = "n/a"
    # Sized for the report's page (1,280 px wide): at the notebook's 130 dpi the figure is drawn at
    # about its own size there, so 9-point cell text is about 16 px high (legible at 1,400 px).
    width = max(WIDTH_IN, 1.15 * len(experiments) + 2.2)
    ax = ax or plt.subplots(figsize=(width, 0.55 * len(order) + 1.6))[1]
    cmap = plt.get_cmap("RdYlGn").with_extremes(bad="#e6e6e6")
    norm = plt.Normalize(vmin=-0.5, vmax=1.0)
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
    for i in range(len(order)):
        for j in range(len(experiments)):
            r, g, b, _ = cmap(norm(grid[i, j])) if np.isfinite(grid[i, j]) else (1, 1, 1, 1)
            dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.45  # white text on the darkest cells
            ax.text(j, i, text[i][j], ha="center", va="center", fontsize=CELL_FONT, linespacing=1.1,
                    color="white" if dark else "black")
    ax.set_xticks(range(len(experiments)), experiments, rotation=20, ha="right", fontsize=CELL_FONT + 1)
    ax.set_yticks(range(len(order)), order, fontsize=CELL_FONT + 1)
    ax.set_title("normalised deletion AOPC (0 = random, 1 = best order searched): score #rank\n[95% CI]; "
                 "✗ fails the randomisation check", fontsize=CELL_FONT + 1)
    return ax
