"""ESOL atom maps of named molecules (BayesGrad Fig. 5), averaged over the fold models."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...training import predict
from ..graphs import atom_scores
from .settings import explainer


def maps_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> list[dict]:
    """Signed atom maps of the named molecules, averaged over the fold models (an ensemble, so no
    molecule's map depends on which fold happened to hold it out); model k uses ``ctx.child(k)``.

    ``inputs``: ``models`` (the fold models). ``cfg``: map_molecules (name: SMILES) and the
    attribution keys of :func:`~xairepro.experiments.esol.attribution.attribution_study`.
    Returns one record per molecule: name, smiles, predicted (ensemble mean), ``scores``
    ``{method: per-atom mean}`` and ``sd`` ``{method: per-atom spread over the samples}`` (each
    averaged over the models).
    """
    models, molecules = list(inputs["models"]), dict(cfg["map_molecules"])
    names = list(molecules)
    graphs = graphs_from_smiles(molecules[n] for n in names)
    device = ctx.torch_device
    per_model = []
    for k, m in enumerate(models):
        configured = explainer(m.to(device).eval(), cfg, ctx=ctx, seed=ctx.child(k).seed)
        per_model.append(atom_scores(configured.explain(graphs), graphs, configured.readings()))
    preds = np.mean([predict(m, graphs, device=device)[:, 0] for m in models], axis=0)
    methods = list(per_model[0][0])
    records = []
    for i, name in enumerate(names):
        records.append({"name": name, "smiles": molecules[name], "predicted": float(preds[i]),
                        "scores": {mt: np.mean([s[mt][i] for s, _ in per_model], axis=0).tolist() for mt in methods},
                        "sd": {mt: np.mean([sd[mt][i] for _, sd in per_model], axis=0).tolist() for mt in methods}})
    return records
