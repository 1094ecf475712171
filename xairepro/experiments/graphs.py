"""Per-atom attributions of graph models, shared by the ESOL and Tox21 experiments."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from ..attribution import BayesGrad, BayesSmoothGrad, SmoothGrad, VanillaGrad, aggregate
from ..evaluation.atoms import atom_environment

#: The four gradient methods of the BayesGrad paper, by the names used in every table.
GRADIENT_METHODS = {
    "vanilla": VanillaGrad,
    "smoothgrad": SmoothGrad,
    "bayesgrad": BayesGrad,
    "bayessmoothgrad": BayesSmoothGrad,
}


def make_gradient_method(name: str, model, *, signed: bool, noise: float, baseline: float,
                         max_batch: int):
    """Build one of GRADIENT_METHODS on the model's atom embedding.

    ``signed``: input x gradient against ``baseline`` (BayesGrad paper section 2.4; ESOL);
    otherwise the plain gradient (then aggregated as a squared norm; Tox21).
    """
    try:
        cls = GRADIENT_METHODS[name]
    except KeyError:
        raise KeyError(f"unknown gradient method {name!r}; known: {sorted(GRADIENT_METHODS)}") from None
    kwargs = dict(target=model.embedding, multiply_by_inputs=signed, baseline=baseline, max_batch=max_batch)
    if name in ("smoothgrad", "bayessmoothgrad"):
        kwargs["noise"] = noise
    return cls(model, **kwargs)


def atom_scores(model, graphs: Sequence, methods: Sequence[str], *, M: int, signed: bool,
                noise: float = 0.15, baseline: float = 0.0, aggregation: str = "raw",
                max_batch: int = 2048, seed: int = 0, chunk: int = 64, device="cpu") -> dict[str, list]:
    """Per-atom scores for each graph and method.

    Returns ``{method: [np.ndarray (n_atoms,) per graph]}`` and ``{method + "_std": ...}``, the
    standard deviation over the M samples (the uncertainty map; 0 for deterministic methods).
    Channels of the embedding are summed after the ``aggregation`` transform
    (chainer-chemistry ``aggregate``: raw for signed maps, square for norms).
    """
    model = model.to(device)
    out: dict[str, list] = {}
    for name in methods:
        method = make_gradient_method(name, model, signed=signed, noise=noise, baseline=baseline,
                                      max_batch=max_batch)
        m_samples = 1 if name == "vanilla" else M
        means, stds = [], []
        for start in range(0, len(graphs), chunk):
            part = list(graphs[start:start + chunk])
            batch = Batch.from_data_list(part).to(device)
            samples = method.compute(batch, M=m_samples, seed=seed + start)
            mean, std = aggregate(samples, method=aggregation, channel_axis=-1, return_std=True)
            mean, std = mean.cpu().numpy(), std.cpu().numpy()
            bounds = np.cumsum([0] + [g.num_nodes for g in part])
            means += [mean[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            stds += [std[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
        out[name], out[f"{name}_std"] = means, stds
    return out


def atom_table(graphs: Sequence, scores: dict[str, list], extra: dict[str, Sequence] | None = None) -> pd.DataFrame:
    """One row per atom: molecule id, SMILES, atom index, element, environment and every score."""
    rows = []
    for k, g in enumerate(graphs):
        mol = Chem.MolFromSmiles(g.smiles)
        for a in mol.GetAtoms():
            i = a.GetIdx()
            row = {"row": int(getattr(g, "row", k)), "mol_id": getattr(g, "mol_id", str(k)),
                   "smiles": g.smiles, "atom_index": i, "element": a.GetSymbol(),
                   "environment": atom_environment(a)}
            if extra:
                row.update({key: vals[k] for key, vals in extra.items()})
            row.update({name: float(vals[k][i]) for name, vals in scores.items()})
            rows.append(row)
    return pd.DataFrame(rows)


@torch.no_grad()
def mc_dropout_predictions(model, graphs: Sequence, M: int, seed: int = 0, device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of M dropout-on predictions per graph (the Bayesian predictive)."""
    from ..attribution import mc_dropout

    model = model.to(device)
    batch = Batch.from_data_list(list(graphs)).to(device)
    preds = []
    with mc_dropout(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(M):
            preds.append(model(batch).float().cpu().numpy().reshape(len(graphs), -1))
    p = np.stack(preds)
    return p.mean(0), p.std(0)
