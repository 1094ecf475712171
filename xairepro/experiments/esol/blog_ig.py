"""The saliency blog's ESOL example: integrated gradients on the atom embedding of a GGNN, raw
(signed) aggregation summed over channels, so a hydroxyl group should come out positive (it raises
the predicted solubility) and carbon chains negative. One model, trained on every fold but the first
and explained on the first fold's held-out molecules and on the named map molecules."""
from __future__ import annotations

import numpy as np
import pandas as pd
from torch_geometric.data import Batch

from ...attribution import IntegratedGradients, aggregate
from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...evaluation.atoms import environment_table
from ...training import predict
from ..graphs import atom_table
from .data import split_fold
from ...progress import progress

BLOG_FOLD = 0


def _ig_scores(model, graphs, *, steps: int, baseline: float, ctx: RunContext, chunk: int = 64):
    """Per-atom IG (sum over embedding channels) and each molecule's completeness error."""
    device = ctx.torch_device
    model = model.to(device).eval()
    ig = IntegratedGradients(model, target=model.embedding, baseline=baseline, steps=steps, rule="trapezoid",
                             max_batch=ctx.max_batch)
    scores, rel_errors = [], []
    for start in progress(range(0, len(graphs), chunk), "integrated gradients chunks", unit="chunk"):
        part = list(graphs[start:start + chunk])
        samples, res = ig.compute(Batch.from_data_list(part).to(device), seed=ctx.seed, return_path=True)
        atoms = aggregate(samples, method="raw", channel_axis=-1).cpu().numpy()
        bounds = np.cumsum([0] + [g.num_nodes for g in part])
        scores += [atoms[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        rel_errors += res.rel_error.cpu().numpy().tolist()
    return scores, np.asarray(rel_errors)


def blog_integrated_gradients(model, graphs, *, n_folds: int, steps: int, baseline: float,
                              ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(atom rows of the first fold's held-out molecules with their IG score and the molecule's
    completeness error, environment table)."""
    _, held_out = split_fold(graphs, BLOG_FOLD, n_folds, ctx.seed)
    scores, rel_errors = _ig_scores(model, held_out, steps=steps, baseline=baseline, ctx=ctx)
    atoms = atom_table(held_out, {"integrated_gradients": scores})
    atoms["ig_rel_error"] = np.repeat(rel_errors, [g.num_nodes for g in held_out])
    return atoms, environment_table(atoms, ["integrated_gradients"])


def blog_maps(model, map_molecules: dict[str, str], *, steps: int, baseline: float, ctx: RunContext) -> list[dict]:
    """Map records of the named molecules: prediction, per-atom IG and completeness error."""
    names = list(map_molecules)
    named = graphs_from_smiles(map_molecules[n] for n in names)
    scores, errors = _ig_scores(model, named, steps=steps, baseline=baseline, ctx=ctx)
    preds = predict(model, named, device=ctx.torch_device)[:, 0]
    return [{"name": n, "smiles": map_molecules[n], "predicted": float(p), "integrated_gradients": s.tolist(),
             "rel_error": float(e)} for n, p, s, e in zip(names, preds, scores, errors)]
