"""Per-atom attributions of graph models and their faithfulness, shared by the graph experiments
(ESOL, Tox21): a helper module, not an experiment."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from ..attribution import (BayesGrad, BayesSmoothGrad, IntegratedGradients, Occlusion, SmoothGrad, VanillaGrad,
                           aggregate)
from ..context import RunContext
from ..evaluation.atoms import atom_environment
from ..evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ..evaluation.units import AtomUnit
from ..progress import progress

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
        for start in progress(range(0, len(graphs), chunk), f"{name} chunks", unit="chunk"):
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


#: Every attribution method the graph experiments compute, as per-atom scores for the faithfulness
#: metric: ``gradient`` is the squared gradient norm (unsigned, Table 1's score); the others are
#: signed contributions (input x gradient against the baseline for the four gradient methods, as
#: BayesGrad section 2.4 does; integrated gradients from the baseline; occlusion's drop).
FAITHFULNESS_METHODS = ("gradient", "input_x_gradient", "smoothgrad", "bayesgrad", "bayessmoothgrad",
                        "integrated_gradients", "occlusion")


def _split_rows(values: np.ndarray, part: Sequence) -> list[np.ndarray]:
    bounds = np.cumsum([0] + [g.num_nodes for g in part])
    return [values[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def atom_method_scores(model, graphs: Sequence, *, mc_samples: int, noise: float, baseline: float, ig_steps: int,
                       ctx: RunContext, methods: Sequence[str] = FAITHFULNESS_METHODS,
                       chunk: int = 64) -> dict[str, list[np.ndarray]]:
    """``{method: [per-atom scores of each graph]}`` for the methods of :data:`FAITHFULNESS_METHODS`."""
    device = ctx.torch_device
    model = model.to(device).eval()
    kw = dict(M=mc_samples, noise=noise, baseline=baseline, max_batch=ctx.max_batch, seed=ctx.seed, device=device)
    out: dict[str, list[np.ndarray]] = {}
    for name in methods:
        if name == "gradient":
            out[name] = atom_scores(model, graphs, ["vanilla"], signed=False, aggregation="square", **kw)["vanilla"]
        elif name == "input_x_gradient":
            out[name] = atom_scores(model, graphs, ["vanilla"], signed=True, **kw)["vanilla"]
        elif name in GRADIENT_METHODS:
            out[name] = atom_scores(model, graphs, [name], signed=True, **kw)[name]
        elif name in ("integrated_gradients", "occlusion"):
            if name == "integrated_gradients":
                method = IntegratedGradients(model, target=model.embedding, baseline=baseline, steps=ig_steps,
                                             rule="trapezoid", max_batch=ctx.max_batch)
            else:
                method = Occlusion(model, target=model.embedding, window="rows", baseline=baseline,
                                   max_batch=ctx.max_batch)
            rows = []
            for start in range(0, len(graphs), chunk):
                part = list(graphs[start:start + chunk])
                batch = Batch.from_data_list(part).to(device)
                if name == "occlusion":
                    values = method.row_drops(batch).detach().cpu().numpy().reshape(-1)
                else:
                    values = method.compute(batch, seed=ctx.seed)[0].sum(-1).detach().cpu().numpy()
                rows += _split_rows(values, part)
            out[name] = rows
        else:
            raise KeyError(f"unknown faithfulness method {name!r}; known: {FAITHFULNESS_METHODS}")
    return out


def atom_faithfulness(model, graphs: Sequence, *, attribution: dict, faithfulness: dict, ctx: RunContext,
                      example_ids: Sequence | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Deletion and insertion curves over atoms (an atom is removed by setting its embedding to the
    attribution baseline) for every method of :data:`FAITHFULNESS_METHODS` and a random order.

    ``attribution``: mc_samples, smoothgrad_noise, baseline (default 0); ``faithfulness``: steps,
    max_fraction, n_random, ig_steps, methods (optional). The explained output is the model's first
    output (ESOL: predicted log solubility; Tox21: the pre-sigmoid score).
    Returns (per-example rows, curve rows, summary per method ranked by deletion AOPC).
    """
    baseline = float(attribution.get("baseline", 0.0))
    scores = atom_method_scores(model, graphs, mc_samples=attribution["mc_samples"],
                                noise=attribution["smoothgrad_noise"], baseline=baseline,
                                ig_steps=faithfulness["ig_steps"], ctx=ctx,
                                methods=faithfulness.get("methods", FAITHFULNESS_METHODS))
    fractions = np.linspace(0.0, faithfulness["max_fraction"], faithfulness["steps"] + 1)
    per_example, curves = faithfulness_study(
        model.to(ctx.torch_device), list(graphs), scores, AtomUnit("embedding", baseline), fractions=fractions,
        n_random=faithfulness.get("n_random", 5), seed=ctx.seed, max_batch=ctx.max_batch,
        example_ids=example_ids)
    return per_example, curves, faithfulness_summary(per_example)
