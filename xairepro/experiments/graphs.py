"""What the graph experiments (ESOL, Tox21) share about graphs: a helper module, not an experiment.

Molecules are explained at the atom embedding (``model.embedding``), so everything here is about
graphs, not about one study: the atom unit and the fixed choices every method on an atom embedding
makes (:data:`EMBEDDING_CHOICES`), cutting a list of graphs into batches (:func:`graph_batches`) and
the :class:`~.explainer.Explainer` over molecules (:func:`graph_explainer`: each experiment's
``settings.py`` gives it its settings), per-atom scores and their table, the MC-dropout predictive,
the leaderboard protocol over atoms (:func:`atom_suite`) and the pooling of its curves and paired
tests over replicates (ESOL's folds, Tox21's subset models).
An atom's score is the sum over the embedding channels of the elementwise ``aggregation`` of the
attribution (chainer-chemistry ``aggregate``: ``raw`` for signed maps, ``square`` for the squared
gradient norm of BayesGrad's Table 1), averaged over the M samples; its spread over the samples is
the uncertainty map.
"""
from __future__ import annotations

from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
import torch
from rdkit import Chem
from torch_geometric.data import Batch, Data

from ..attribution import mc_dropout
from ..context import RunContext
from ..data.featurize import N_BOND_TYPES
from ..evaluation.atoms import atom_environment
from ..evaluation.faithfulness import faithfulness_summary
from ..evaluation.operators import bind_operators
from ..evaluation.units import AtomUnit
from .explainer import Explainer, applicable
from .suite import FaithfulnessSpec, SuiteResult, faithfulness_suite

__all__ = ["ATOM", "CHUNK", "EMBEDDING_CHOICES", "GRAPH_MODALITY", "atom_embedding", "atom_scores", "atom_suite",
           "GRAPH_OPERATORS", "atom_operator_units", "training_mean_embedding",
           "atom_table", "atom_unit", "graph_batches", "graph_explainer", "mc_dropout_predictions", "pool_curves", "pooled_summary",
           "labelled_graphs", "random_graphs", "with_spread_columns"]

#: The faithfulness schema's modality and unit of both graph experiments.
GRAPH_MODALITY, ATOM = "molecular graph", "atom"
#: Molecules per batched attribution call.
CHUNK = 64
#: What every method attributing to an atom embedding does, whatever the study: SmoothGrad's sigma is
#: absolute (an embedding has no value range to scale it by), integrated gradients use the trapezoid
#: rule (the end points F(0) and F(x) enter, so completeness holds up to the path's curvature), and
#: occlusion removes one atom's row at a time (the atom is the unit).
EMBEDDING_CHOICES = {"noise_mode": "absolute", "method": "trapezoid", "sliding_window_shapes": "rows"}


def atom_unit(baseline: float = 0.0) -> AtomUnit:
    """Atoms of ``model.embedding``'s output; removing one sets its row to ``baseline``."""
    return AtomUnit("embedding", float(baseline))


#: The removal operators of the graph experiments' atoms (:mod:`xairepro.evaluation.operators`): the
#: embedding set to the baseline, to the training-mean embedding, the atom deleted with its bonds.
GRAPH_OPERATORS = ("baseline", "mean_embedding", "delete")


@torch.no_grad()
def training_mean_embedding(model, graphs: Sequence, layer: str = "embedding") -> torch.Tensor:
    """The mean over every atom of ``graphs`` (the model's training molecules) of ``model.<layer>``'s
    output, read in eval mode as the model computes it: what the ``mean_embedding`` operator puts."""
    if not len(graphs):
        raise ValueError("training_mean_embedding: no training graphs")
    module, device = getattr(model, layer), next(model.parameters()).device
    total, count = [], [0]

    def keep(_module, _inputs, out):
        total.append(out.detach().double().sum(0))
        count[0] += out.shape[0]

    was_training = model.training
    model.eval()
    handle = module.register_forward_hook(keep)
    try:
        for start in range(0, len(graphs), 4 * CHUNK):
            model(Batch.from_data_list(list(graphs[start:start + 4 * CHUNK])).to(device))
    finally:
        handle.remove()
        model.train(was_training)
    return (torch.stack(total).sum(0) / count[0]).float().cpu()


def atom_operator_units(unit: AtomUnit, cfg: Mapping, model, train_graphs: Sequence, *, key: str) -> dict:
    """``{operator: atom unit}`` of the section ``cfg``'s ``operators`` (default :data:`GRAPH_OPERATORS`),
    ``unit`` itself as ``baseline``; the training-mean embedding is ``model``'s on ``train_graphs``
    (computed only when asked for). ``key``: the config key the errors name."""
    names = list(cfg.get("operators") or GRAPH_OPERATORS)
    statistics = {"mean_embedding": training_mean_embedding(model, train_graphs, unit.layer)} \
        if "mean_embedding" in names else {}
    return bind_operators(unit, names, statistics, key=key)


def atom_embedding(model, baseline: float = 0.0) -> dict:
    """Where a method attributes a graph model's atoms: ``layer`` (the atom embedding), ``baselines``
    (the embedding an atom is compared with, as :func:`atom_unit` removes it) and
    :data:`EMBEDDING_CHOICES`; each experiment's ``settings`` adds its own choices."""
    return {"layer": model.embedding, "baselines": float(baseline), **EMBEDDING_CHOICES}


def graph_batches(graphs: Sequence, start: int, stop: int, target):
    """The Explainer's ``batches`` over a list of graphs: molecules ``start:stop`` as one ``Batch``."""
    return Batch.from_data_list(list(graphs[start:stop])), target


def graph_explainer(model, cfg: Mapping, settings: Callable, *, ctx: RunContext,
                    seed: Optional[int] = None) -> Explainer:
    """The Explainer over molecules of a study section ``cfg``: its ``methods``, ``method_options``,
    ``mc_samples`` (M of the sampling methods) and ``aggregation`` (default ``raw``), built from
    ``settings(model)``, :data:`CHUNK` molecules per call on ``ctx.torch_device``; the chunk starting at
    molecule ``s`` draws with ``seed + s`` (default ``ctx.seed``)."""
    return Explainer(model, list(cfg["methods"]), settings=settings, method_options=cfg.get("method_options") or {},
                     M=int(cfg["mc_samples"]), aggregation=cfg.get("aggregation", "raw"), chunk=CHUNK,
                     batches=graph_batches, device=ctx.torch_device, seed=int(ctx.seed if seed is None else seed),
                     label="graph attribution chunks")


def labelled_graphs(n: int, task: str) -> list[Data]:
    """``n`` random graphs (seeded with ``n``) with random labels ``y`` (1, 1) of a ``task``
    (``regression``, ``binary``): what ``training.fit`` takes, for the graph experiments' examples."""
    from .examples import example_labels

    graphs = random_graphs(n, seed=n)
    for g, y in zip(graphs, example_labels(n, task)):
        g.y = y.view(1, 1)
    return graphs


def random_graphs(n: int, *, atoms: tuple[int, int] = (5, 30), seed: int = 0) -> list[Data]:
    """``n`` random connected molecular graphs as the featurizer makes them (``x``: atomic numbers of C,
    N, O, F, S, Cl; ``edge_index`` both directions of a random tree plus a ring closure; ``edge_attr``:
    bond types), ``atoms`` = the (min, max) atom count: inputs of the configured models for tests and
    benchmarks that need no data set."""
    gen = torch.Generator().manual_seed(int(seed))
    elements = torch.tensor([6, 7, 8, 9, 16, 17])
    out = []
    for _ in range(int(n)):
        k = int(torch.randint(atoms[0], atoms[1] + 1, (1,), generator=gen))
        parents = [int(torch.randint(0, i, (1,), generator=gen)) for i in range(1, k)]
        pairs = list(zip(parents, range(1, k))) + ([(0, k - 1)] if k > 2 and parents[-1] != 0 else [])
        src = [a for a, b in pairs] + [b for a, b in pairs]
        dst = [b for a, b in pairs] + [a for a, b in pairs]
        bonds = torch.randint(0, N_BOND_TYPES, (len(pairs),), generator=gen)
        x = elements[torch.randint(0, len(elements), (k,), generator=gen)]
        out.append(Data(x=x, edge_index=torch.tensor([src, dst], dtype=torch.long).reshape(2, -1),
                        edge_attr=torch.cat([bonds, bonds]), num_nodes=k))
    return out


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


def atom_suite(explainer: Explainer, graphs: Sequence, spec: FaithfulnessSpec, *, experiment: str, model_name: str,
               replicate=0, example_ids: Sequence | None = None) -> SuiteResult:
    """The leaderboard protocol (:func:`~xairepro.experiments.suite.faithfulness_suite`) over the atoms
    of ``graphs`` for the explainer's model, labelled as a molecular-graph study; the curves carry the
    number of molecules ``n`` behind each replicate's mean (:func:`pool_curves` weights by it)."""
    labels = dict(experiment=experiment, modality=GRAPH_MODALITY, unit=ATOM, model=model_name, replicate=replicate)
    result = faithfulness_suite(explainer, list(graphs), spec, labels=labels, example_ids=example_ids)
    result.curves["n"] = len(graphs)
    return result


def pool_curves(curves: pd.DataFrame) -> pd.DataFrame:
    """Deletion, LeRF and insertion curves pooled over replicates (folds, seed models): per model,
    operator, method, mode and fraction the mean over every example, i.e. the replicates' means weighted by their
    ``n``."""
    keys = [k for k in ("experiment", "model", "operator") if k in curves] + ["method", "mode", "fraction"]
    c = curves.assign(weighted=curves["mean"] * curves["n"])
    pooled = c.groupby(keys, as_index=False, sort=False).agg(weighted=("weighted", "sum"), n=("n", "sum"),
                                                                n_replicates=("mean", "size"))
    pooled["mean"] = pooled["weighted"] / pooled["n"]
    return pooled[[*keys, "mean", "n", "n_replicates"]]


def pooled_summary(per_example: pd.DataFrame) -> pd.DataFrame:
    """:func:`~xairepro.evaluation.faithfulness.faithfulness_summary` over every replicate (fold or
    subset model): the means over all molecules, the paired tests over the models' means (a trained
    model is the unit of evidence, never a molecule of several models)."""
    return faithfulness_summary(per_example).assign(n_replicates=per_example["replicate"].nunique())
