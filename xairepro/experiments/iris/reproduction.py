"""Iris rows of the reproduction table."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row

__all__ = ["reproduction_rows"]


def reproduction_rows(agreement: pd.DataFrame, scale: str, method: str = "bayesgrad",
                      reference: str = "forest_impurity") -> list[dict]:
    """The blog's claim, read on ``method`` (BayesGrad) against the forest's impurity ranking."""
    row = agreement.set_index("method").loc[method]
    rho = float(row[f"rho_vs_{reference}"])
    others = ", ".join(f"{m} rho {r:.2f}" for m, r in zip(agreement["method"], agreement[f"rho_vs_{reference}"])
                       if m not in (method, reference))
    return [reproduction_row("blog.iris.petal_first", f"{row['ranking']}; rho = {rho:.2f}", scale,
                             f"{method} vs {reference}; {others}", petal_top2=bool(row["petal_top2"]),
                             spearman_rho=rho)]
