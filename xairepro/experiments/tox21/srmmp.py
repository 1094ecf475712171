"""Tox21 SR-MMP study (BayesGrad 4.2, Fig. 3): maps (``tox21.srmmp.methods``, BayesGrad first) of
Tyrphostin 9, its O-methyl derivative and Tox21 compounds with the same hindered phenol, each with
the per-atom standard deviation across the M samples, and the rank of the hindered-phenol oxygen;
across seeds, the oxygen's rank per seed and method and the seed whose model the figure shows (the
median rank)."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from rdkit import Chem

from ...context import RunContext
from ...data.featurize import graphs_from_smiles
from ...evaluation.ground_truth import atom_rank
from ...training import predict
from ..graphs import atom_scores, mc_dropout_predictions
from .data import SRMMP_TASK, task_labels
from .settings import explainer


def key_oxygen(smiles: str, oxygen_smarts: str) -> int | None:
    """Index of the oxygen that ``oxygen_smarts`` matches first (the phenolic OH or its methyl ether
    on a 2,6-di-tert-butylphenyl ring), if any."""
    match = Chem.MolFromSmiles(smiles).GetSubstructMatch(Chem.MolFromSmarts(oxygen_smarts))
    return int(match[0]) if match else None


def _is_free_phenol(mol, oxygen_smarts: str) -> bool:
    pattern = Chem.MolFromSmarts(oxygen_smarts)
    return any(mol.GetAtomWithIdx(m[0]).GetTotalNumHs() == 1 for m in mol.GetSubstructMatches(pattern))


def similar_phenols(graphs: Sequence, splits: dict, oxygen_smarts: str, n: int) -> list[dict]:
    """``n`` SR-MMP-positive Tox21 compounds whose ``oxygen_smarts`` oxygen is a free OH, test split
    first, then val, then train, each in file order (a fixed rule, so the examples are not picked by
    their maps)."""
    labels = task_labels(graphs, SRMMP_TASK)
    found = []
    for part in ("test", "val", "train"):
        for i in splits["srmmp"][part]:
            g = graphs[i]
            if labels[i] == 1 and _is_free_phenol(Chem.MolFromSmiles(g.smiles), oxygen_smarts):
                found.append({"name": g.mol_id, "smiles": g.smiles, "source": f"Tox21 {part} split, SR-MMP = 1"})
            if len(found) == n:
                return found
    return found


def srmmp_maps_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext) -> list[dict]:
    """Maps of the SR-MMP model and the rank of the hindered-phenol oxygen under every method.

    ``inputs``: ``model``, ``molecules`` (dicts with name, smiles, source). ``cfg``: methods (the
    maps' scores: the plain gradient on the atom embedding, squared and summed over channels, mean
    over the M samples: the paper's and Table 1's score; the FIRST method is the maps' and the
    pass/fail criterion's), signed_methods (the same oxygen ranked by signed input x gradient,
    BayesGrad section 2.4, baseline 0, so the report can say whether the result depends on the
    score; keyed ``signed_<method>``), mc_samples, oxygen_smarts, method_options.

    Each record: the molecule, probability, the MC-dropout logit mean and sd, n_atoms, the oxygen's
    index, ``method`` (the maps' method), ``scores`` and ``sd`` (per-atom mean and spread over the
    samples of every map method), ``oxygen_rank`` (1 = highest score), share and score over the max
    under the maps' method, ``oxygen_ranks`` under every method and ``oxygen_signed`` (its signed scores).
    """
    model, molecules = inputs["model"], list(inputs["molecules"])
    device, seed, M = ctx.torch_device, ctx.seed, cfg["mc_samples"]
    model.to(device).eval()
    graphs = graphs_from_smiles([m["smiles"] for m in molecules])
    readings = {}  # key -> (per-atom scores, spreads) under the two readings of the study
    for prefix, names, signed in (("", cfg["methods"], False), ("signed_", cfg.get("signed_methods", []), True)):
        reading = dict(cfg, methods=names, multiply_by_inputs=signed, aggregation="raw" if signed else "square")
        run = explainer(model, reading, ctx=ctx)
        scores, spread = atom_scores(run.explain(graphs), graphs, run.readings())
        readings.update({f"{prefix}{name}": (scores[name], spread[name]) for name in scores})
    key = cfg["methods"][0]
    maps = [name for name in cfg["methods"] if name in readings]
    prob = 1 / (1 + np.exp(-predict(model, graphs, device=device)[:, 0]))
    mc_mean, mc_std = mc_dropout_predictions(model, graphs, M=M, seed=seed, device=device)
    records = []
    for i, mol in enumerate(molecules):
        s = np.asarray(readings[key][0][i])
        o = key_oxygen(mol["smiles"], cfg["oxygen_smarts"])
        rec = {**mol, "probability": float(prob[i]), "logit_mc_mean": float(mc_mean[i, 0]),
               "logit_mc_sd": float(mc_std[i, 0]), "n_atoms": len(s), "oxygen": o, "method": key,
               "scores": {name: np.asarray(readings[name][0][i]).tolist() for name in maps},
               "sd": {name: np.asarray(readings[name][1][i]).tolist() for name in maps}}
        if o is not None:
            rec.update(oxygen_rank=atom_rank(s, o), oxygen_share=float(s[o] / s.sum()) if s.sum() > 0 else float("nan"),
                       oxygen_over_max=float(s[o] / s.max()) if s.max() > 0 else float("nan"),
                       oxygen_ranks={k: atom_rank(v[0][i], o) for k, v in readings.items()},
                       oxygen_signed={k: float(v[0][i][o]) for k, v in readings.items() if k.startswith("signed_")})
        records.append(rec)
    return records


def seed_ranks(maps_by_seed: dict[int, list[dict]]) -> pd.DataFrame:
    """One row per seed, molecule and method: the key oxygen's rank (1 = highest score) and the
    molecule's atom count; methods as in each record's ``oxygen_ranks`` (the squared scores by
    their name, the signed input x gradient ones as ``signed_<method>``)."""
    rows = []
    for seed, maps in sorted(maps_by_seed.items()):
        for m in maps:
            if m.get("oxygen_rank") is None:
                continue
            rows += [{"seed": int(seed), "molecule": m["name"], "method": method, "rank": int(rank),
                      "n_atoms": int(m["n_atoms"]), "probability": float(m["probability"])}
                     for method, rank in m["oxygen_ranks"].items()]
    return pd.DataFrame(rows)


def median_rank_seed(ranks: pd.DataFrame, molecule: str, method: str) -> int:
    """The seed whose ``molecule`` oxygen rank under ``method`` is the median over seeds (lower
    median for an even count; seeds sorted by rank, then seed number) -- the model whose maps the
    figure shows."""
    r = ranks[(ranks["molecule"] == molecule) & (ranks["method"] == method)].sort_values(["rank", "seed"])
    if r.empty:
        raise ValueError(f"no ranks for {molecule!r} / {method!r}")
    return int(r["seed"].iloc[(len(r) - 1) // 2])


def top_rank_counts(ranks: pd.DataFrame, top: int) -> pd.DataFrame:
    """Per molecule and method: seeds, seeds with the oxygen in the top ``top``, median rank."""
    g = ranks.groupby(["molecule", "method"])
    return g.agg(n_seeds=("seed", "nunique"), n_top=("rank", lambda v: int((v <= top).sum())),
                 median_rank=("rank", "median"), min_rank=("rank", "min"), max_rank=("rank", "max"),
                 n_atoms=("n_atoms", "first")).reset_index()


def gather_seeds(maps_by_seed: dict[int, list[dict]], metrics_by_seed: dict[int, dict], molecule: str,
                 top: int) -> tuple[pd.DataFrame, pd.DataFrame, list[dict], dict]:
    """Fig. 3 across seeds: (ranks per seed, molecule and method; counts of seeds with the oxygen in
    the top ``top``; the maps of the model whose ``molecule`` rank under the maps' method is the
    median; that model's metrics with every seed's ROC-AUC)."""
    ranks = seed_ranks(maps_by_seed)
    key = next(m["method"] for maps in maps_by_seed.values() for m in maps)  # the maps' method
    chosen = median_rank_seed(ranks, molecule, key)
    per_seed = [{"seed": s, **{k: m[k] for k in ("train_roc_auc", "val_roc_auc", "test_roc_auc")}}
                for s, m in metrics_by_seed.items()]
    metrics = dict(metrics_by_seed[chosen], seed=chosen, median_rank_molecule=molecule, seeds=per_seed)
    return ranks, top_rank_counts(ranks, top), [dict(m, seed=chosen) for m in maps_by_seed[chosen]], metrics
