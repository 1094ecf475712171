"""Tox21 atom integrated gradients ("Gradients of counterfactuals", section 3.1): completeness per
molecule (the atom attributions sum to F(x) - F(0)) and the score along the scaling path of active
molecules (saturation: most of the change happens far from the input)."""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from ...context import RunContext
from ...evaluation.units import AtomUnit
from .data import pyridine_labels, srmmp_data, with_labels
from .settings import explainer

METHOD = "integrated_gradients"


def ig_molecule_sets(graphs: Sequence, splits: dict, which: str, cfg: dict) -> tuple[list, list]:
    """(actives for the saturation plot, molecules for the completeness histogram) of held-out data:
    ``srmmp``: SR-MMP test molecules (actives: SR-MMP = 1); ``pyridine``: validation molecules
    (actives: containing pyridine). Both in file order; ``cfg`` is the integrated_gradients section."""
    if which == "srmmp":
        held_out = srmmp_data(graphs, splits)["test"]
        actives = [g for g in held_out if float(g.y[0, 0]) == 1.0]
    elif which == "pyridine":
        val = [graphs[i] for i in splits["pyridine"]["val"]]
        held_out = with_labels(val, pyridine_labels(val))
        actives = [g for g in held_out if float(g.y[0, 0]) == 1.0]
    else:
        raise ValueError(f"unknown molecule set {which!r}")
    return actives[: cfg["n_saturation"]], held_out[: cfg["n_molecules"]]


def molecule_integrated_gradients(model, graphs: Sequence, steps: int, n_path: int, *, ctx: RunContext,
                                  label: str = "") -> tuple[pd.DataFrame, pd.DataFrame, list]:
    """IG on the atom embedding (baseline: zero embedding, trapezoid rule on ``steps`` points from
    alpha = 0 to 1) for every graph, through Tox21's explainer (:mod:`.settings`) with IG alone.

    Returns (completeness rows per molecule: F(x), F(0), sum of attributions, absolute and relative
    error; path rows for the first ``n_path`` graphs: alpha, logit, probability, dF/dalpha (the
    integrand, sum over atoms of x . grad F(alpha x)) and the gradient norm; per-graph per-atom
    attributions summed over channels).
    """
    graphs = list(graphs)
    model = model.to(ctx.torch_device).eval()
    # the interior gradients are kept only where the path rows need them (they hold steps x atoms x channels)
    section = {"methods": [METHOD], "mc_samples": 1,
               "method_options": {METHOD: {"n_steps": int(steps), "keep_grads": n_path > 0}}}
    explanation = explainer(model, section, ctx=ctx).explain(graphs)[METHOD]
    res = explanation.path
    comp = [{"model": label, "mol_id": getattr(g, "mol_id", str(i)), "smiles": g.smiles, "score": float(res.score[i]),
             "baseline_score": float(res.baseline_score[i]), "attribution_sum": float(res.attribution_sum[i]),
             "abs_error": float(res.abs_error[i]), "rel_error": float(res.rel_error[i])} for i, g in enumerate(graphs)]
    path = []
    if n_path > 0:
        with torch.no_grad():
            x = model.embedding(torch.cat([g.x.view(-1) for g in graphs]).to(ctx.torch_device)).cpu()
        grads = res.interior_grads  # (steps, n_nodes, hidden), every molecule's atoms in order
        dfda = (grads * x.unsqueeze(0)).sum(-1)  # (steps, n_nodes)
        gsq = (grads ** 2).sum(-1)
        node_graph = torch.repeat_interleave(torch.arange(len(graphs)), torch.tensor([g.num_nodes for g in graphs]))
        for j in range(min(n_path, len(graphs))):
            sel = node_graph == j
            for k, alpha in enumerate(res.alphas.tolist()):
                logit = float(res.path_scores[k, j])
                path.append({"model": label, "mol_id": getattr(graphs[j], "mol_id", str(j)),
                             "alpha": alpha, "logit": logit, "probability": 1 / (1 + math.exp(-logit)),
                             "dlogit_dalpha": float(dfda[k, sel].sum()), "grad_norm": float(gsq[k, sel].sum().sqrt())})
    return pd.DataFrame(comp), pd.DataFrame(path), explanation.units(AtomUnit(), graphs)


def integrated_gradients_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The IG study of each model: completeness over the molecule set of its kind and the scaling
    path of its actives (a study of one method, integrated gradients).

    ``inputs``: ``models`` (``(which, label, model)`` with ``which`` "srmmp" or "pyridine"),
    ``graphs``, ``splits``. ``cfg``: the integrated_gradients section (steps, n_molecules,
    n_saturation). Returns (completeness rows, path rows) of all models, tagged with the label.
    """
    completeness, paths = [], []
    for which, label, model in inputs["models"]:
        actives, molecules = ig_molecule_sets(inputs["graphs"], inputs["splits"], which, cfg)
        comp, _, _ = molecule_integrated_gradients(model, molecules, cfg["steps"], 0, ctx=ctx, label=label)
        _, path_rows, _ = molecule_integrated_gradients(model, actives, cfg["steps"], len(actives), ctx=ctx,
                                                        label=label)
        completeness.append(comp)
        paths.append(path_rows)
    return pd.concat(completeness, ignore_index=True), pd.concat(paths, ignore_index=True)


def saturation_summary(path: pd.DataFrame, tail: float = 0.9) -> pd.DataFrame:
    """Per model: the share of the probability and logit change F(x) - F(0) made over alpha in
    [tail, 1] (a path without saturation makes about 1 - tail of it there), and the gradient
    norm at the input relative to its maximum along the path."""
    rows = []
    for (model, mol), g in path.groupby(["model", "mol_id"]):
        g = g.sort_values("alpha")
        row = {"model": model, "mol_id": mol}
        for col in ("probability", "logit"):
            v = g[col].to_numpy()
            total = v[-1] - v[0]
            v_tail = np.interp(tail, g["alpha"], v)
            row[f"{col}_tail_share"] = float((v[-1] - v_tail) / total) if total != 0 else float("nan")
        gn = g["grad_norm"].to_numpy()
        row["grad_norm_at_input_over_max"] = float(gn[-1] / gn.max()) if gn.max() > 0 else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
