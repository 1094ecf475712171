"""The saliency blog's ESOL example: integrated gradients on the atom embedding of a GGNN, raw
(signed) aggregation summed over channels, so a hydroxyl group should come out positive (it raises
the predicted solubility) and carbon chains negative. One model, trained on every fold but the first
and explained on the first fold's held-out molecules and on the named map molecules.

A study of one method (the blog's): its explainer is ESOL's (:mod:`.settings`) with that method alone."""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...evaluation.atoms import environment_table
from ...evaluation.units import AtomUnit
from ...training import predict
from ..graphs import atom_table
from .data import split_fold
from .settings import explainer

BLOG_FOLD = 0
METHOD = "integrated_gradients"


def _ig_scores(model, graphs, cfg: Mapping, *, ctx: RunContext):
    """Per-atom IG (sum over embedding channels) and each molecule's completeness error."""
    model = model.to(ctx.torch_device).eval()
    section = {"methods": [METHOD], "mc_samples": 1, "baseline": float(cfg["baseline"]),
               "method_options": {METHOD: {"n_steps": int(cfg["steps"]), "keep_grads": False}}}
    explanation = explainer(model, section, ctx=ctx).explain(list(graphs))[METHOD]
    return explanation.units(AtomUnit(), list(graphs)), explanation.path.rel_error.double().numpy()


def blog_ig_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``inputs``: ``model`` (the blog's GGNN), ``graphs``; ``cfg``: n_folds, steps, baseline.
    Returns (atom rows of the first fold's held-out molecules with their IG score and the molecule's
    completeness error, environment table)."""
    _, held_out = split_fold(inputs["graphs"], BLOG_FOLD, cfg["n_folds"], ctx.seed)
    scores, rel_errors = _ig_scores(inputs["model"], held_out, cfg, ctx=ctx)
    atoms = atom_table(held_out, {METHOD: scores})
    atoms["ig_rel_error"] = np.repeat(rel_errors, [g.num_nodes for g in held_out])
    return atoms, environment_table(atoms, [METHOD])


def blog_maps_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> list[dict]:
    """``inputs``: ``model``; ``cfg``: steps, baseline, map_molecules. Map records of the named
    molecules: prediction, per-atom IG (``scores``) and the completeness error."""
    molecules = dict(cfg["map_molecules"])
    names = list(molecules)
    named = graphs_from_smiles(molecules[n] for n in names)
    scores, errors = _ig_scores(inputs["model"], named, cfg, ctx=ctx)
    preds = predict(inputs["model"], named, device=ctx.torch_device)[:, 0]
    return [{"name": n, "smiles": molecules[n], "predicted": float(p), "scores": {METHOD: s.tolist()},
             "rel_error": float(e)} for n, p, s, e in zip(names, preds, scores, errors)]
