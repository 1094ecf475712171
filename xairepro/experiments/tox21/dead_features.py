"""Tox21 "dead features" check ("Gradients of counterfactuals", section 3.1): with one convolution
layer a Weave-style network cannot tell apart atoms of the same type with the same bonds, so it gives
them identical attributions; deeper networks (and the GGNN, whose messages carry the neighbour's
state) separate them."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ...context import RunContext
from ...data.featurize import N_BOND_TYPES
from .data import pyridine_data, pyridine_evaluation_set
from .integrated_gradients import molecule_integrated_gradients
from .training import train_binary


def atom_keys(g) -> list[tuple]:
    """What a one-layer Weave network sees of each atom: its type and the count of each bond type."""
    counts = np.zeros((g.num_nodes, N_BOND_TYPES), dtype=int)
    np.add.at(counts, (g.edge_index[1].numpy(), g.edge_attr.view(-1).numpy()), 1)
    return [(int(z),) + tuple(int(c) for c in row) for z, row in zip(g.x.view(-1).tolist(), counts)]


def stable_colors(g) -> list[int]:
    """Weisfeiler-Lehman colour refinement of the labelled graph (atom types, bond types) until it
    is stable. Atoms with the same stable colour are indistinguishable by any message-passing
    network on these inputs (symmetric atoms, for instance), so they get equal attributions at any
    depth and are left out of the dead-features comparison."""
    src, dst = g.edge_index.tolist()
    bond = g.edge_attr.view(-1).tolist()
    colors = [int(z) for z in g.x.view(-1).tolist()]
    n_colors = len(set(colors))
    while True:
        neigh = [[] for _ in colors]
        for s, d, b in zip(src, dst, bond):
            neigh[d].append((b, colors[s]))
        signature = [(c, tuple(sorted(nb))) for c, nb in zip(colors, neigh)]
        index = {sig: k for k, sig in enumerate(sorted(set(signature)))}
        new = [index[sig] for sig in signature]
        if len(index) == n_colors:
            return new
        colors, n_colors = new, len(index)


def dead_feature_pairs(graphs: Sequence, attributions: Sequence[np.ndarray], rel_tol: float) -> pd.DataFrame:
    """Every pair of atoms in the same molecule with the same type and bond counts but different
    stable colours, with whether their attributions are identical (within ``rel_tol`` of the
    molecule's largest |attribution|)."""
    rows = []
    for g, attr in zip(graphs, attributions):
        keys, colors = atom_keys(g), stable_colors(g)
        scale = float(np.max(np.abs(attr))) or 1.0
        for i in range(len(keys)):
            for j in range(i + 1, len(keys)):
                if keys[i] == keys[j] and colors[i] != colors[j]:
                    diff = abs(float(attr[i]) - float(attr[j])) / scale
                    rows.append({"mol_id": g.mol_id, "i": i, "j": j, "rel_diff": diff, "identical": diff <= rel_tol})
    return pd.DataFrame(rows, columns=["mol_id", "i", "j", "rel_diff", "identical"])


def dead_features_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext,
                        progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train each model of ``cfg['models']`` at each depth on the first Table 1 subset with the
    Tox21 recipe, attribute validation pyridine molecules with IG, and measure how often atoms a
    one-layer Weave network cannot tell apart get identical attributions.

    ``inputs``: ``graphs``, ``splits``. ``cfg``: the dead_features section (models, layers,
    hidden_dim, dropout, epochs, n_molecules, steps: the IG points, rel_tol) with ``train`` (batch_size, lr)
    and ``subset_size``. Returns (summary per model and depth, per-pair rows).
    """
    graphs, splits = inputs["graphs"], inputs["splits"]
    train_set, _ = pyridine_data(graphs, splits, 0, cfg["subset_size"], ctx.seed)
    eval_graphs, _ = pyridine_evaluation_set(graphs, splits)
    eval_graphs = eval_graphs[: cfg["n_molecules"]]
    summary, pairs = [], []
    for name in cfg["models"]:
        for n_layers in cfg["layers"]:
            spec = {"arch": name, "hidden_dim": cfg["hidden_dim"], "n_layers": n_layers, "dropout": cfg["dropout"]}
            trained = train_binary(spec, train_set, None, dict(cfg["train"], epochs=cfg["epochs"]), ctx=ctx.child(0),
                                   progress=progress)
            comp, _, attr = molecule_integrated_gradients(trained.model, eval_graphs, cfg["steps"], 0, ctx=ctx,
                                                          label=f"{name}{n_layers}")
            p = dead_feature_pairs(eval_graphs, attr, cfg["rel_tol"])
            p.insert(0, "n_layers", n_layers)
            p.insert(0, "model", name)
            pairs.append(p)
            summary.append({"model": name, "n_layers": n_layers, "n_molecules": len(eval_graphs),
                            "n_pairs": len(p),
                            "fraction_identical": float(p["identical"].mean()) if len(p) else float("nan"),
                            "median_rel_diff": float(p["rel_diff"].median()) if len(p) else float("nan"),
                            "ig_median_rel_error": float(comp["rel_error"].median())})
    return pd.DataFrame(summary), pd.concat(pairs, ignore_index=True)
