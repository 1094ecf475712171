"""ESOL held-out predictions and atom attributions (BayesGrad Fig. 4 and the environment table)."""
from __future__ import annotations

import pandas as pd

from ...context import RunContext
from ...evaluation.atoms import environment_table
from ...evaluation.regression import regression_metrics
from ...training import predict
from ..graphs import atom_scores, atom_table, mc_dropout_predictions
from .data import split_fold

#: Methods computed for every held-out molecule, in report order.
ESOL_METHODS = ("vanilla", "smoothgrad", "bayesgrad")


def attribute_fold(model, graphs, fold: int, *, n_folds: int, attribution: dict, ctx: RunContext):
    """Predictions and per-atom attributions for the held-out molecules of one fold.

    ``attribution``: mc_samples, smoothgrad_noise, baseline. Returns (predictions, atoms) DataFrames.
    """
    _, test = split_fold(graphs, fold, n_folds, ctx.seed)
    device, run = ctx.torch_device, ctx.child(fold)
    model.to(device).eval()
    pred = predict(model, test, device=device)[:, 0]
    mc_mean, mc_std = mc_dropout_predictions(model, test, M=attribution["mc_samples"], seed=run.seed, device=device)
    predictions = pd.DataFrame({
        "row": [g.row for g in test], "mol_id": [g.mol_id for g in test], "smiles": [g.smiles for g in test],
        "fold": fold, "measured": [float(g.y.item()) for g in test], "predicted": pred,
        "predicted_mc_mean": mc_mean[:, 0], "predicted_mc_std": mc_std[:, 0],
    })
    scores = atom_scores(model, test, ESOL_METHODS, M=attribution["mc_samples"], signed=True,
                         noise=attribution["smoothgrad_noise"], baseline=attribution["baseline"], aggregation="raw",
                         max_batch=ctx.max_batch, seed=run.seed, device=device)
    atoms = atom_table(test, scores, extra={"fold": [fold] * len(test)})
    return predictions, atoms


def summarize(predictions: pd.DataFrame, atoms: pd.DataFrame) -> tuple[dict, pd.DataFrame]:
    """Held-out metrics over all folds, and the atom-environment table of every method."""
    metrics = regression_metrics(predictions["measured"], predictions["predicted"])
    metrics["per_fold"] = {int(f): regression_metrics(g["measured"], g["predicted"])
                           for f, g in predictions.groupby("fold")}
    return metrics, environment_table(atoms, list(ESOL_METHODS))
