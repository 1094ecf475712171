"""SMILES2vec rows of the reproduction table."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row

__all__ = ["reproduction_rows"]


def reproduction_rows(random_metrics: dict, scaffold_metrics: dict, mask_metrics: dict, top3: pd.DataFrame,
                      scale: str) -> list[dict]:
    rmse = float(random_metrics["test_rmse"])
    masked = float(mask_metrics["test_masked_rmse"])
    t3 = top3.set_index("method")
    acc = float(t3.loc["mask", "top3_accuracy"])
    context = ", ".join(f"{m} {t3.loc[m, 'top3_accuracy']:.0%}" for m in t3.index if m != "mask")
    return [
        reproduction_row("masks.esol_smiles2vec.rmse", rmse, scale,
                         f"{random_metrics['n_test']} test molecules; scaffold split test RMSE "
                         f"{float(scaffold_metrics['test_rmse']):.3f} (no paper number)", value=rmse),
        reproduction_row("masks.esol_smiles2vec.masked_rmse", masked, scale,
                         f"unmasked {float(mask_metrics['test_rmse']):.3f}; masked vs unmasked prediction RMSE "
                         f"{float(mask_metrics['test_fidelity_rmse']):.3f} (mask trained for fidelity to the model)",
                         value=masked),
        reproduction_row("masks.esol_smiles2vec.top3_accuracy", f"{acc:.1%}", scale,
                         f"{int(t3.loc['mask', 'n'])} soluble or insoluble molecules; same check: {context}; share of "
                         f"the three characters on target atoms {float(t3.loc['mask', 'top3_fraction']):.0%}",
                         value=acc),
    ]
