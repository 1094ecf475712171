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
spread over the samples is the uncertainty map. :func:`atom_suite` runs the leaderboard protocol
(:func:`~xairepro.experiments.suite.faithfulness_suite`) over atoms for one model; ESOL runs it per
fold model, Tox21 per Table 1 subset model.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.data import Batch

from ..attribution import mc_dropout
from ..context import RunContext
from ..evaluation.atoms import atom_environment
from ..evaluation.faithfulness import faithfulness_summary
from ..evaluation.sanity import parameter_layers
from ..evaluation.units import AtomUnit
from .methods import NotApplicable, applicable, explain_chunks
from .suite import SuiteResult, faithfulness_suite

__all__ = ["GRAPH_MODALITY", "atom_scores", "atom_settings", "atom_suite", "atom_table", "atom_unit",
           "explain_graphs", "mc_dropout_predictions", "not_applied", "pool_curves", "pooled_summary",
           "reading_options", "sanity_steps", "with_spread_columns"]

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
                   method_options: Optional[Mapping] = None, device=None, chunk: int = CHUNK,
                   seconds: Optional[dict] = None) -> dict:
    """``{name: Explanation | NotApplicable}`` of ``graphs`` for every method of ``names``, batched
    ``chunk`` molecules at a time; the chunk starting at molecule ``s`` draws with seed ``seed + s``;
    ``seconds``: when given, each method's compute time is added to it."""
    graphs = list(graphs)
    device = device if device is not None else next(model.parameters()).device

    def make_batch(start, stop):
        return Batch.from_data_list(graphs[start:stop]).to(device), None

    return explain_chunks(model, len(graphs), make_batch, list(names), settings, M=M,
                          seed=lambda k: int(seed) + k * chunk, chunk=chunk, method_options=method_options,
                          label="graph attribution chunks", seconds=seconds)


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


def sanity_steps(model, value=()):
    """``cfg['sanity_steps']`` as :func:`~xairepro.experiments.suite.faithfulness_suite` takes it:
    ``"all"``: only the full randomisation (every parameter layer of ``model`` re-initialised, the
    cheap setting of the quick scale); a list of layer counts as given (``[]``: the default cascade,
    1, half and all layers); ``None``: no sanity check."""
    if value == "all":
        return [len(parameter_layers(model))]
    return None if value is None else list(value)


def atom_suite(model, graphs: Sequence, cfg: Mapping, *, ctx: RunContext, experiment: str, model_name: str,
               replicate=0, example_ids: Sequence | None = None) -> SuiteResult:
    """The leaderboard protocol (:func:`~xairepro.experiments.suite.faithfulness_suite`) over atoms
    for one graph model: deletion and insertion curves (an atom is removed by setting its embedding
    to the baseline) of every method of ``cfg['methods']``, each read with its aggregation
    (:func:`reading_options`), the methods that did not apply, the model-randomisation check
    (``cfg['sanity_steps']``, :func:`sanity_steps`), the informativeness of the sampled methods'
    per-atom spread (``cfg['uncertainty']``, default on) and the seconds of each method. The explained
    output is the model's first output (ESOL: predicted log solubility; Tox21: the pre-sigmoid
    score). Every method is built on the model it explains, so the randomised copies are explained
    exactly like the trained one.

    ``cfg``: methods, steps, max_fraction, mc_samples (M of the sampling methods), the
    :func:`atom_settings` keys, and optionally method_options, aggregation, sanity_steps, uncertainty.
    """
    device = ctx.torch_device
    model = model.to(device).eval()
    graphs = list(graphs)
    build, read = reading_options(cfg)
    names = list(cfg["methods"])

    def explain_fn(m, seconds):
        return explain_graphs(m, graphs, names, atom_settings(m, cfg, ctx=ctx), M=cfg["mc_samples"], seed=ctx.seed,
                              method_options=build, device=device, seconds=seconds)

    labels = dict(experiment=experiment, modality=GRAPH_MODALITY, unit=ATOM, model=model_name, replicate=replicate)
    result = faithfulness_suite(model, graphs, atom_unit(cfg), explain_fn, labels=labels,
                                fractions=np.linspace(0.0, cfg["max_fraction"], cfg["steps"] + 1), aggregation=read,
                                max_batch=ctx.max_batch, example_ids=example_ids,
                                sanity_steps=sanity_steps(model, cfg.get("sanity_steps", [])), sanity_seed=ctx.seed,
                                uncertainty=bool(cfg.get("uncertainty", True)))
    result.curves["n"] = len(graphs)  # examples behind each replicate's mean (pool_curves weights by it)
    return result


def pool_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Deletion and insertion curves pooled over replicates (folds, seed models): per model, method,
    mode and fraction the mean over every example, i.e. the replicates' means weighted by their
    ``n``."""
    keys = [k for k in ("experiment", "model") if k in curves] + ["method", "mode", "fraction"]
    c = curves.assign(weighted=curves["mean"] * curves["n"])
    pooled = c.groupby(keys, as_index=False, sort=False).agg(weighted=("weighted", "sum"), n=("n", "sum"),
                                                                n_replicates=("mean", "size"))
    pooled["mean"] = pooled["weighted"] / pooled["n"]
    return pooled[[*keys, "mean", "n", "n_replicates"]]


def pooled_summary(per_example: pd.DataFrame) -> pd.DataFrame:
    """:func:`~xairepro.evaluation.faithfulness.faithfulness_summary` over every replicate: an example
    is a (replicate, example) pair, so the paired tests compare methods on the same molecule explained
    by the same model."""
    keyed = per_example.assign(example=per_example["replicate"].astype(str) + ":" + per_example["example"].astype(str))
    return faithfulness_summary(keyed).assign(n_replicates=per_example["replicate"].nunique())


def not_applied(results: Mapping) -> list[NotApplicable]:
    """The methods of ``results`` that did not apply (to log them)."""
    return [r for r in results.values() if isinstance(r, NotApplicable)]
