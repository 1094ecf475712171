"""Tox21 pyridine study (BayesGrad 4.1, Table 1 and Figs. 1-2).

A model learns the synthetic pyridine label; VanillaGrad, SmoothGrad, BayesGrad and BayesSmoothGrad
(squared gradient on the atom embedding, summed over channels) are scored by the top-k
precision-recall curve against the pyridine ring atoms, over the validation molecules that contain
pyridine. Table 1 repeats this for models trained on random 1,000-compound subsets and compares the
methods with a paired Wilcoxon test over models. Every PRC-AUC is computed under the three
extraction rules of :mod:`xairepro.evaluation.ground_truth`: column ``prc_auc`` is the reference
code's rule (the paper's scale), ``prc_auc_<rule>`` each rule. Nothing here is chosen by looking at
the validation molecules the PRC-AUC is computed on.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import pandas as pd

from ...context import RunContext
from ...evaluation.ground_truth import (DEFAULT_RATES, EXTRACTION_RULES, REFERENCE_RULE, prc_auc_by_rule,
                                        substructure_prc_auc)
from ...evaluation.stats import paired_wilcoxon
from ..graphs import atom_scores, atom_table
from .targets import METHOD_NAMES, METHODS, PAPER_TABLE1

NOISY_METHODS = ("smoothgrad", "bayessmoothgrad")


def method_runs(cfg: dict) -> list[tuple[str, float]]:
    """(method, SmoothGrad sigma) pairs: the deterministic and dropout-only methods once, the noisy
    ones at every sigma of the sweep (the main sigma included)."""
    sweep = sorted(set(float(s) for s in cfg["noise_sweep"]) | {float(cfg["smoothgrad_noise"])})
    return [("vanilla", float("nan")), ("bayesgrad", float("nan"))] + [(m, s) for s in sweep for m in NOISY_METHODS]


def is_main_run(method: str, noise: float, cfg: dict) -> bool:
    return method not in NOISY_METHODS or math.isclose(noise, float(cfg["smoothgrad_noise"]))


def _rates(cfg: dict) -> np.ndarray:
    return np.linspace(0.1, 1.0, cfg["n_rates"]) if cfg.get("n_rates") else DEFAULT_RATES


def pyridine_attributions(model, graphs: Sequence, truth: Sequence, cfg: dict, *, ctx: RunContext,
                          runs: Sequence[tuple[str, float]] | None = None):
    """Score every (method, sigma) run on the pyridine molecules; ``cfg`` is the attribution section.

    Returns (summary rows: method, noise, prc_auc (reference rule), prc_auc_<rule> for every rule,
    main; curve rows under the reference rule: method, noise, rate, recall, precision; the main
    runs' per-atom scores ``{method: [...], method_std: [...]}``).
    """
    runs = list(runs) if runs is not None else method_runs(cfg)
    rates = _rates(cfg)
    summary, curves, main_scores = [], [], {}
    for method, noise in runs:
        s = atom_scores(model, graphs, [method], M=cfg["mc_samples"], signed=False,
                        noise=noise if not math.isnan(noise) else cfg["smoothgrad_noise"],
                        aggregation="square", max_batch=ctx.max_batch, seed=ctx.seed, device=ctx.torch_device)
        by_rule = prc_auc_by_rule(s[method], truth, rates)
        res = by_rule[REFERENCE_RULE]
        main = is_main_run(method, noise, cfg)
        summary.append({"method": method, "noise": noise, "prc_auc": res["prc_auc"],
                        **{f"prc_auc_{r}": v["prc_auc"] for r, v in by_rule.items()}, "main": main})
        curves += [{"method": method, "noise": noise, "main": main, "rate": r, "recall": rc, "precision": p}
                   for r, rc, p in zip(res["rates"], res["recall"], res["precision"])]
        if main:
            main_scores.update(s)
    return pd.DataFrame(summary), pd.DataFrame(curves), main_scores


def pyridine_examples(graphs: Sequence, truth: Sequence, scores: dict, n: int, seed: int) -> list[dict]:
    """``n`` validation pyridine molecules drawn at random (seeded; not picked by how good the maps
    look) with every main method's scores and the ground truth."""
    idx = np.sort(np.random.default_rng(seed).choice(len(graphs), size=min(n, len(graphs)), replace=False))
    out = []
    for i in idx:
        rec = {"mol_id": graphs[i].mol_id, "smiles": graphs[i].smiles, "truth": list(map(int, truth[i]))}
        for key, vals in scores.items():
            rec[key] = np.asarray(vals[i]).tolist()
        out.append(rec)
    return out


def pyridine_atom_table(graphs: Sequence, truth: Sequence, scores: dict) -> pd.DataFrame:
    table = atom_table(graphs, scores)
    truth_set = {(str(g.mol_id), int(a)) for g, t in zip(graphs, truth) for a in t}
    table["truth"] = [(str(m), int(a)) in truth_set for m, a in zip(table["mol_id"], table["atom_index"])]
    return table


def _bounds(graphs, truth, rates, rule: str, rng, n_random: int) -> dict:
    perfect = [np.isin(np.arange(g.num_nodes), t).astype(float) for g, t in zip(graphs, truth)]
    out = {}
    for name, scores in (("perfect", perfect), ("reversed", [-p for p in perfect])):
        res = substructure_prc_auc(scores, truth, rates, rule)
        out[name] = {"prc_auc": res["prc_auc"], "recall": res["recall"].tolist(),
                     "precision": res["precision"].tolist()}
    randoms = [substructure_prc_auc([rng.random(g.num_nodes) for g in graphs], truth, rates, rule)
               for _ in range(n_random)]
    out["random"] = {"prc_auc": float(np.mean([r["prc_auc"] for r in randoms])),
                     "prc_auc_sd": float(np.std([r["prc_auc"] for r in randoms])),
                     "recall": np.mean([r["recall"] for r in randoms], 0).tolist(),
                     "precision": np.mean([r["precision"] for r in randoms], 0).tolist()}
    return out


def ranking_bounds(graphs: Sequence, truth: Sequence, cfg: dict, seed: int, n_random: int = 20) -> dict:
    """The metric's range on these molecules under every extraction rule: PRC-AUC of a perfect
    ranking (ground-truth atoms first), of a reversed one, and the mean over ``n_random`` uniformly
    random rankings. The un-anchored curve makes even a perfect ranking score well below 1 (see
    ground_truth). Top level: the reference rule; ``by_rule``: every rule."""
    rates = _rates(cfg)
    by_rule = {rule: _bounds(graphs, truth, rates, rule, np.random.default_rng(seed), n_random)
               for rule in EXTRACTION_RULES}
    return {**by_rule[REFERENCE_RULE], "rule": REFERENCE_RULE, "by_rule": by_rule,
            "n_molecules": len(graphs), "rates": rates.tolist()}


def table1(prc: pd.DataFrame, column: str = "prc_auc") -> pd.DataFrame:
    """Mean and sd (population sd, ``ddof=0``, as the paper's code computes it) of PRC-AUC per
    method over models, beside the paper's numbers (``column``: the reference rule by default, the
    paper's scale)."""
    main = prc[prc["main"].astype(bool)].assign(prc_auc=lambda d: d[column])
    rows = []
    for method in METHODS:
        v = main.loc[main["method"] == method, "prc_auc"].to_numpy(float)
        pm, ps = PAPER_TABLE1[method]
        rows.append({"method": method, "name": METHOD_NAMES[method], "n_models": len(v),
                     "mean": float(v.mean()), "sd": float(v.std(ddof=0)),
                     "sd_ddof1": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                     "paper_mean": pm, "paper_sd": ps, "diff": float(v.mean() - pm)})
    return pd.DataFrame(rows)


def wilcoxon_table(prc: pd.DataFrame, reference: str = "bayesgrad", column: str = "prc_auc") -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests of ``reference`` against every other method over models."""
    main = prc[prc["main"].astype(bool)].pivot_table(index="seed", columns="method", values=column)
    rows = []
    for other in METHODS:
        if other == reference:
            continue
        res = paired_wilcoxon(main[reference].to_numpy(), main[other].to_numpy())
        rows.append({"method": reference, "versus": other, **res})
    return pd.DataFrame(rows)


def rules_table(prc: pd.DataFrame) -> pd.DataFrame:
    """Table 1 under every extraction rule: mean and sd per method, and BayesGrad's paired gain over
    each other method with its Wilcoxon p (one row per rule and method)."""
    rows = []
    for rule in EXTRACTION_RULES:
        col = f"prc_auc_{rule}"
        if col not in prc:
            continue
        t = table1(prc, col).set_index("method")
        w = wilcoxon_table(prc, column=col).set_index("versus")
        for m in METHODS:
            gain = w.loc[m] if m in w.index else None
            rows.append({"rule": rule, "method": m, "n_models": int(t.loc[m, "n_models"]), "mean": t.loc[m, "mean"],
                         "sd": t.loc[m, "sd"], "bayesgrad_gain": float(gain["mean_diff"]) if gain is not None else 0.0,
                         "bayesgrad_gain_median": float(gain["median_diff"]) if gain is not None else 0.0,
                         "bayesgrad_higher": int(gain["n_a_higher"]) if gain is not None else 0,
                         "pvalue": float(gain["pvalue"]) if gain is not None else float("nan")})
    return pd.DataFrame(rows)


def noise_sweep_table(prc: pd.DataFrame) -> pd.DataFrame:
    noisy = prc[prc["method"].isin(NOISY_METHODS)]
    g = noisy.groupby(["method", "noise"])["prc_auc"]
    return g.agg(mean="mean", sd=lambda v: float(np.std(v, ddof=0)), n_models="count").reset_index()


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    main = curves[curves["main"].astype(bool)]
    return (main.groupby(["method", "rate"]).agg(recall=("recall", "mean"), precision=("precision", "mean"),
                                                  recall_sd=("recall", "std"), precision_sd=("precision", "std"))
            .reset_index())
