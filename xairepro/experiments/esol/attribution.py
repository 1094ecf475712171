"""ESOL held-out predictions and atom attributions (BayesGrad Fig. 4 and the environment table)."""
from __future__ import annotations

import logging
from typing import Mapping, Sequence

import pandas as pd

from ...context import RunContext
from ...evaluation.atoms import environment_table
from ...evaluation.regression import regression_metrics
from ...training import predict
from ..explainer import NotApplicable
from ..graphs import atom_scores, atom_table, mc_dropout_predictions, with_spread_columns
from .data import split_fold
from .settings import explainer

log = logging.getLogger(__name__)


def attribution_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions and per-atom attributions of the held-out molecules of one fold.

    ``inputs``: ``model`` (the fold's), ``graphs`` (every featurized molecule), ``fold``.
    ``cfg``: n_folds, methods, mc_samples, method_options, baseline, multiply_by_inputs (signed
    input x gradient, BayesGrad section 2.4), aggregation (``raw``: signed maps) (:mod:`.settings`).
    Returns (predictions, atoms): one row per atom with a column per method and its spread over the
    samples (``<method>_sd``); methods that cannot explain the model are logged and left out.
    """
    model, graphs, fold = inputs["model"], inputs["graphs"], int(inputs["fold"])
    _, test = split_fold(graphs, fold, cfg["n_folds"], ctx.seed)
    device, run = ctx.torch_device, ctx.child(fold)
    model.to(device).eval()
    pred = predict(model, test, device=device)[:, 0]
    mc_mean, mc_std = mc_dropout_predictions(model, test, M=cfg["mc_samples"], seed=run.seed, device=device)
    predictions = pd.DataFrame({
        "row": [g.row for g in test], "mol_id": [g.mol_id for g in test], "smiles": [g.smiles for g in test],
        "fold": fold, "measured": [float(g.y.item()) for g in test], "predicted": pred,
        "predicted_mc_mean": mc_mean[:, 0], "predicted_mc_std": mc_std[:, 0],
    })
    configured = explainer(model, cfg, ctx=ctx, seed=run.seed)
    results = configured.explain(test)
    for skipped in (r for r in results.values() if isinstance(r, NotApplicable)):
        log.warning("%s does not apply: %s", skipped.method, skipped.reason)
    scores, spread = atom_scores(results, test, configured.readings())
    atoms = atom_table(test, with_spread_columns(scores, spread), extra={"fold": [fold] * len(test)})
    return predictions, atoms


def summarize(predictions: pd.DataFrame, atoms: pd.DataFrame, methods: Sequence[str]) -> tuple[dict, pd.DataFrame]:
    """Held-out metrics over all folds, and the atom-environment table of every method in ``methods``
    that has a column in ``atoms``."""
    metrics = regression_metrics(predictions["measured"], predictions["predicted"])
    metrics["per_fold"] = {int(f): regression_metrics(g["measured"], g["predicted"])
                           for f, g in predictions.groupby("fold")}
    return metrics, environment_table(atoms, [m for m in methods if m in atoms])
