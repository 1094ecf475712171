"""Per-atom attributions of graph models and their faithfulness, shared by the graph experiments
(ESOL, Tox21): a helper module, not an experiment.

Every method is named in the experiment's config by its registered name
(:func:`xairepro.attribution.method_names`) and built from ONE settings dict
(:func:`atom_settings`): attributions at the atom embedding (``model.embedding``) against a baseline
embedding, SmoothGrad's sigma, the integrated-gradients path, occlusion of one atom row at a time,
the number of random orders. A method reads only the settings it accepts, so no code here knows
which methods exist. An atom's score is the sum over the embedding channels of the elementwise
``aggregation`` of the attribution (chainer-chemistry ``aggregate``: ``raw`` for signed maps,
``square`` for the squared gradient norm of BayesGrad's Table 1), averaged over the M samples; its
spread over the samples is the uncertainty map.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from ..attribution import mc_dropout
from ..context import RunContext
from ..evaluation.atoms import atom_environment
from ..evaluation.faithfulness import faithfulness_study, faithfulness_summary
from ..evaluation.units import AtomUnit
from .methods import NotApplicable, applicable, explain_chunks, faithfulness_rows, skipped_rows

__all__ = ["AtomFaithfulness", "GRAPH_MODALITY", "atom_faithfulness", "atom_scores", "atom_settings", "atom_table",
           "atom_unit", "explain_graphs", "mc_dropout_predictions", "not_applied", "reading_options",
           "with_spread_columns"]

#: The faithfulness schema's modality and unit of both graph experiments.
GRAPH_MODALITY, ATOM = "molecular graph", "atom"
#: Molecules per batched attribution call.
CHUNK = 64


def atom_unit(cfg: Mapping) -> AtomUnit:
    """Atoms of ``model.embedding``'s output; removing one sets its row to ``cfg['baseline']`` (default 0)."""
    return AtomUnit("embedding", float(cfg.get("baseline", 0.0)))


def atom_settings(model, cfg: Mapping, *, ctx: RunContext, **overrides) -> dict:
    """The one settings dict every method of a graph study is built from.

    ``cfg`` keys (all optional): ``baseline`` (the embedding an atom is compared with and removed
    to; 0, the mean of the embedding's prior), ``multiply_by_inputs`` (signed input x gradient,
    BayesGrad section 2.4; default True), ``smoothgrad_noise`` (absolute sigma on the embedding),
    ``ig_steps`` (trapezoid points from the baseline), ``n_random`` (random orders). ``overrides``
    win (a study's fixed choice, e.g. a sweep's sigma).
    """
    settings = {"layer": model.embedding, "baselines": float(cfg.get("baseline", 0.0)),
                "multiply_by_inputs": bool(cfg.get("multiply_by_inputs", True)),
                "stdevs": float(cfg.get("smoothgrad_noise", 0.15)), "noise_mode": "absolute",
                "n_steps": int(cfg.get("ig_steps", 64)), "method": "trapezoid",
                "sliding_window_shapes": "rows", "n_random": int(cfg.get("n_random", 5)),
                "max_batch": ctx.max_batch}
    settings.update(overrides)
    return settings


def reading_options(cfg: Mapping) -> tuple[dict, dict]:
    """``cfg['method_options']`` split into what the methods are built with and how each one is read:
    ``(constructor options by method, aggregation by method)``. ``aggregation`` in a method's options
    (``raw | abs | square``) overrides ``cfg['aggregation']`` (default ``raw``) for that method."""
    default = cfg.get("aggregation", "raw")
    build, read = {}, {}
    for name in cfg.get("methods", []):
        opts = dict((cfg.get("method_options") or {}).get(name, {}))
        read[name] = opts.pop("aggregation", default)
        build[name] = opts
    return build, read


def explain_graphs(model, graphs: Sequence, names: Sequence[str], settings: Mapping, *, M: int, seed: int,
                   method_options: Optional[Mapping] = None, device=None, chunk: int = CHUNK) -> dict:
    """``{name: Explanation | NotApplicable}`` of ``graphs`` for every method of ``names``, batched
    ``chunk`` molecules at a time; the chunk starting at molecule ``s`` draws with seed ``seed + s``."""
    graphs = list(graphs)
    device = device if device is not None else next(model.parameters()).device

    def make_batch(start, stop):
        return Batch.from_data_list(graphs[start:stop]).to(device), None

    return explain_chunks(model, len(graphs), make_batch, list(names), settings, M=M,
                          seed=lambda k: int(seed) + k * chunk, chunk=chunk, method_options=method_options,
                          label="graph attribution chunks")


def atom_scores(results: Mapping, graphs: Sequence, aggregation, unit: Optional[AtomUnit] = None
                ) -> tuple[dict, dict]:
    """``({name: [per-atom scores of each graph]}, {name: [per-atom sd over the samples]})`` of the
    explanations among ``results`` (methods that did not apply are left out). ``aggregation``: one
    of ``raw | abs | square``, or ``{name: aggregation}``."""
    unit = unit or AtomUnit()
    graphs = list(graphs)
    scores, spread = {}, {}
    for name, explanation in applicable(results).items():
        agg = aggregation[name] if isinstance(aggregation, Mapping) else aggregation
        scores[name] = explanation.units(unit, graphs, agg)
        spread[name] = explanation.unit_spread(unit, graphs, agg)
    return scores, spread


def atom_table(graphs: Sequence, scores: dict[str, list], extra: dict[str, Sequence] | None = None) -> pd.DataFrame:
    """One row per atom: molecule id, SMILES, atom index, element, environment and every score
    (``scores``: ``{column: [per-atom values of each graph]}``, e.g. ``bayesgrad`` and ``bayesgrad_sd``)."""
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


def with_spread_columns(scores: dict, spread: dict, suffix: str = "_sd") -> dict:
    """``scores`` and, after each method, its spread column ``<method>_sd`` (for :func:`atom_table`)."""
    out = {}
    for name, vals in scores.items():
        out[name] = vals
        out[f"{name}{suffix}"] = spread[name]
    return out


@torch.no_grad()
def mc_dropout_predictions(model, graphs: Sequence, M: int, seed: int = 0, device="cpu") -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of M dropout-on predictions per graph (the Bayesian predictive)."""
    model = model.to(device)
    batch = Batch.from_data_list(list(graphs)).to(device)
    preds = []
    with mc_dropout(model), torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(M):
            preds.append(model(batch).float().cpu().numpy().reshape(len(graphs), -1))
    p = np.stack(preds)
    return p.mean(0), p.std(0)


@dataclass
class AtomFaithfulness:
    """A faithfulness study over atoms: ``per_example`` in the shared schema
    (:data:`~xairepro.experiments.methods.FAITHFULNESS_COLUMNS`), the deletion and insertion
    ``curves`` (method, mode, fraction, mean, sem), the ``summary`` per method ranked by deletion
    AOPC, and the methods that did not apply with their reasons (``skipped``)."""

    per_example: pd.DataFrame
    curves: pd.DataFrame
    summary: pd.DataFrame
    skipped: pd.DataFrame


def atom_faithfulness(model, graphs: Sequence, cfg: Mapping, *, ctx: RunContext, experiment: str, model_name: str,
                      replicate=0, example_ids: Sequence | None = None) -> AtomFaithfulness:
    """Deletion and insertion curves over atoms (an atom is removed by setting its embedding to the
    baseline) for every method of ``cfg['methods']``, each read with its aggregation
    (:func:`reading_options`). The explained output is the model's first output (ESOL: predicted log
    solubility; Tox21: the pre-sigmoid score).

    ``cfg``: methods, steps, max_fraction, mc_samples (M of the sampling methods), the
    :func:`atom_settings` keys, and optionally method_options and aggregation.
    """
    device = ctx.torch_device
    model = model.to(device).eval()
    graphs = list(graphs)
    unit = atom_unit(cfg)
    build, read = reading_options(cfg)
    results = explain_graphs(model, graphs, cfg["methods"], atom_settings(model, cfg, ctx=ctx), M=cfg["mc_samples"],
                             seed=ctx.seed, method_options=build, device=device)
    explanations = applicable(results)
    if not explanations:
        raise ValueError(f"none of the methods {list(cfg['methods'])} applies to this model: "
                         + "; ".join(f"{r.method}: {r.reason}" for r in not_applied(results)))
    fractions = np.linspace(0.0, cfg["max_fraction"], cfg["steps"] + 1)
    per_example, curves = [], []
    for aggregation in dict.fromkeys(read[name] for name in explanations):  # one metric call per reading
        group = {name: e for name, e in explanations.items() if read[name] == aggregation}
        pe, cu = faithfulness_study(model, graphs, group, unit, fractions=fractions, aggregation=aggregation,
                                    max_batch=ctx.max_batch, example_ids=example_ids)
        per_example.append(pe)
        curves.append(cu)
    per_example = pd.concat(per_example, ignore_index=True)
    order = {name: k for k, name in enumerate(cfg["methods"])}  # rows in config order
    per_example = per_example.sort_values("method", key=lambda s: s.map(order), kind="stable", ignore_index=True)
    curves = pd.concat(curves, ignore_index=True).sort_values("method", key=lambda s: s.map(order), kind="stable",
                                                               ignore_index=True)
    schema = dict(experiment=experiment, modality=GRAPH_MODALITY, unit=ATOM, model=model_name, replicate=replicate)
    return AtomFaithfulness(faithfulness_rows(per_example, **schema), curves, faithfulness_summary(per_example),
                            skipped_rows(results, **schema))


def not_applied(results: Mapping) -> list[NotApplicable]:
    """The methods of ``results`` that did not apply (to log them)."""
    return [r for r in results.values() if isinstance(r, NotApplicable)]
