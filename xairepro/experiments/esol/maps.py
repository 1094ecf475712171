"""ESOL atom maps of named molecules (BayesGrad Fig. 5), averaged over the fold models."""
from __future__ import annotations

import numpy as np

from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...training import predict
from ..graphs import atom_scores
from .attribution import ESOL_METHODS


def map_attributions(models, map_molecules: dict[str, str], *, attribution: dict, ctx: RunContext) -> list[dict]:
    """Signed atom maps of the named molecules, averaged over the fold models (an ensemble, so no
    molecule's map depends on which fold happened to hold it out); model k uses ``ctx.child(k)``."""
    names = list(map_molecules)
    graphs = graphs_from_smiles(map_molecules[n] for n in names)
    device = ctx.torch_device
    per_model = [atom_scores(m, graphs, ESOL_METHODS, M=attribution["mc_samples"], signed=True,
                             noise=attribution["smoothgrad_noise"], baseline=attribution["baseline"],
                             max_batch=ctx.max_batch, seed=ctx.child(k).seed, device=device)
                 for k, m in enumerate(models)]
    preds = np.mean([predict(m, graphs, device=device)[:, 0] for m in models], axis=0)
    records = []
    for i, name in enumerate(names):
        rec = {"name": name, "smiles": map_molecules[name], "predicted": float(preds[i])}
        for method in ESOL_METHODS:
            rec[method] = np.mean([s[method][i] for s in per_model], axis=0).tolist()
            rec[f"{method}_std"] = np.mean([s[f"{method}_std"][i] for s in per_model], axis=0).tolist()
        records.append(rec)
    return records
