"""SMILES2vec rows of the reproduction table."""
from __future__ import annotations

import pandas as pd

from ...report.targets import reproduction_row

__all__ = ["MASK_METHOD", "reproduction_rows"]

#: The method the paper's top-3 number is about: its trained explanation mask.
MASK_METHOD = "explanation_mask"


def reproduction_rows(random_metrics: dict, scaffold_metrics: dict, mask_metrics: dict, top3: pd.DataFrame,
                      scale: str, method: str = MASK_METHOD) -> list[dict]:
    """The three rows; the top-3 row reads ``method`` (the mask) and lists the other methods of the
    top-3 summary as context."""
    rmse = float(random_metrics["test_rmse"])
    masked = float(mask_metrics["test_masked_rmse"])
    t3 = top3.set_index("method")
    if method not in t3.index:
        raise ValueError(f"smiles2vec: the top-3 summary has no row for {method!r} (methods: {list(t3.index)}); "
                         "smiles2vec.attribution.methods must name it")
    acc = float(t3.loc[method, "top3_accuracy"])
    context = ", ".join(f"{m} {t3.loc[m, 'top3_accuracy']:.0%}" for m in t3.index if m != method)
    return [
        reproduction_row("masks.esol_smiles2vec.rmse", rmse, scale,
                         f"{random_metrics['n_test']} test molecules; scaffold split test RMSE "
                         f"{float(scaffold_metrics['test_rmse']):.3f} (no paper number)", value=rmse),
        reproduction_row("masks.esol_smiles2vec.masked_rmse", masked, scale,
                         f"unmasked {float(mask_metrics['test_rmse']):.3f}; masked vs unmasked prediction RMSE "
                         f"{float(mask_metrics['test_fidelity_rmse']):.3f} (mask trained for fidelity to the model)",
                         value=masked),
        reproduction_row("masks.esol_smiles2vec.top3_accuracy", f"{acc:.1%}", scale,
                         f"{int(t3.loc[method, 'n'])} soluble or insoluble molecules; same check: {context}; share of "
                         f"the three characters on target atoms {float(t3.loc[method, 'top3_fraction']):.0%}",
                         value=acc),
    ]
