"""Regression metrics as the BayesGrad paper reports them (Pearson r, MAE) plus RMSE."""
from __future__ import annotations

import numpy as np
from scipy import stats


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
    if y_true.shape != y_pred.shape or y_true.size < 2:
        raise ValueError(f"need two equal-length arrays of >= 2 values, got {y_true.shape} and {y_pred.shape}")
    err = y_pred - y_true
    return {
        "r": float(stats.pearsonr(y_true, y_pred)[0]),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "n": int(y_true.size),
    }
