"""Tox21 pyridine study (BayesGrad 4.1, Table 1 and Figs. 1-2).

A model learns the synthetic pyridine label; the methods of ``tox21.attribution.methods``
(``vanilla_grad``, ``smoothgrad``, ``bayesgrad``, ``bayes_smoothgrad``: the plain gradient on the atom
embedding, squared and summed over channels) are scored by the top-k
precision-recall curve against the pyridine ring atoms, over the validation molecules that contain
pyridine. Table 1 repeats this for models trained on random 1,000-compound subsets and compares the
methods with a paired Wilcoxon test over models. Every PRC-AUC is computed under the three
extraction rules of :mod:`xairepro.evaluation.ground_truth`: column ``prc_auc`` is the reference
code's rule (the paper's scale), ``prc_auc_<rule>`` each rule. Nothing here is chosen by looking at
the validation molecules the PRC-AUC is computed on.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ...context import RunContext
from ...evaluation.ground_truth import (DEFAULT_RATES, EXTRACTION_RULES, REFERENCE_RULE, prc_auc_by_rule,
                                        substructure_prc_auc)
from ...evaluation.stats import paired_wilcoxon
from ..explainer import NotApplicable
from ..graphs import atom_scores, atom_table
from .settings import explainer, takes_noise, with_noise
from .targets import METHOD_NAMES, METHODS, PAPER_TABLE1, REFERENCE_METHOD

log = logging.getLogger(__name__)


def main_noise(method: str, cfg: Mapping) -> float:
    """The sigma Table 1 reports for a noisy method: its ``method_options.<method>.stdevs``."""
    return float(cfg["method_options"][method]["stdevs"])


def method_runs(cfg: Mapping) -> list[tuple[str, float]]:
    """(method, SmoothGrad sigma) pairs of ``cfg['methods']``: the methods without noise once (sigma
    NaN), the noisy ones at every sigma of the sweep and at their main sigma (:func:`main_noise`),
    sigma by sigma."""
    plain = [m for m in cfg["methods"] if not takes_noise(m)]
    noisy = [m for m in cfg["methods"] if takes_noise(m)]
    sweep = {m: {float(s) for s in cfg.get("noise_sweep", [])} | {main_noise(m, cfg)} for m in noisy}
    sigmas = sorted(set().union(*sweep.values()))
    return [(m, float("nan")) for m in plain] + [(m, s) for s in sigmas for m in noisy if s in sweep[m]]


def is_main_run(method: str, noise: float, cfg: Mapping) -> bool:
    """A run without noise, or at the method's main sigma (the one Table 1 reports)."""
    return math.isnan(noise) or math.isclose(noise, main_noise(method, cfg))


def _rates(cfg: Mapping) -> np.ndarray:
    return np.linspace(0.1, 1.0, cfg["n_rates"]) if cfg.get("n_rates") else DEFAULT_RATES


@dataclass
class PyridineScores:
    """The pyridine study of one model: ``summary`` (method, noise, prc_auc under the reference
    rule, prc_auc_<rule> for every rule, main), ``curves`` under the reference rule (method, noise,
    main, rate, recall, precision), and the main runs' per-atom ``scores`` and ``spread`` over the
    samples (``{method: [per-atom array of each molecule]}``)."""

    summary: pd.DataFrame
    curves: pd.DataFrame
    scores: dict
    spread: dict


def pyridine_study(inputs: Mapping, cfg: Mapping, *, ctx: RunContext,
                   runs: Sequence[tuple[str, float]] | None = None) -> PyridineScores:
    """Score every (method, sigma) run of :func:`method_runs` by the top-k PRC-AUC against the
    pyridine atoms.

    ``inputs``: ``model``, ``graphs`` (the validation molecules with pyridine), ``truth`` (their
    pyridine atoms). ``cfg``: the attribution section: methods, mc_samples, method_options (the
    noisy methods' main ``stdevs``), noise_sweep, n_rates, multiply_by_inputs and aggregation
    (Table 1: the plain gradient, squared and summed over the embedding channels).
    """
    model, graphs, truth = inputs["model"], list(inputs["graphs"]), inputs["truth"]
    model.to(ctx.torch_device).eval()
    runs = list(runs) if runs is not None else method_runs(cfg)
    rates = _rates(cfg)
    configured = explainer(model, cfg, ctx=ctx)
    summary, curves, main_scores, main_spread = [], [], {}, {}
    for method, noise in runs:
        run = configured if math.isnan(noise) else with_noise(configured, noise)
        results = run.explain(graphs, names=[method])
        for skipped in (r for r in results.values() if isinstance(r, NotApplicable)):
            log.warning("%s does not apply: %s", skipped.method, skipped.reason)
        scores, spread = atom_scores(results, graphs, run.readings())
        if method not in scores:
            continue
        by_rule = prc_auc_by_rule(scores[method], truth, rates)
        res = by_rule[REFERENCE_RULE]
        main = is_main_run(method, noise, cfg)
        summary.append({"method": method, "noise": noise, "prc_auc": res["prc_auc"],
                        **{f"prc_auc_{r}": v["prc_auc"] for r, v in by_rule.items()}, "main": main})
        curves += [{"method": method, "noise": noise, "main": main, "rate": r, "recall": rc, "precision": p}
                   for r, rc, p in zip(res["rates"], res["recall"], res["precision"])]
        if main:
            main_scores.update(scores)
            main_spread.update(spread)
    return PyridineScores(pd.DataFrame(summary), pd.DataFrame(curves), main_scores, main_spread)


def pyridine_examples(graphs: Sequence, truth: Sequence, result: PyridineScores, n: int, seed: int) -> list[dict]:
    """``n`` validation pyridine molecules drawn at random (seeded; not picked by how good the maps
    look) with every main method's ``scores``, their spread ``sd`` and the ground truth."""
    idx = np.sort(np.random.default_rng(seed).choice(len(graphs), size=min(n, len(graphs)), replace=False))
    out = []
    for i in idx:
        out.append({"mol_id": graphs[i].mol_id, "smiles": graphs[i].smiles, "truth": list(map(int, truth[i])),
                    "scores": {m: np.asarray(v[i]).tolist() for m, v in result.scores.items()},
                    "sd": {m: np.asarray(v[i]).tolist() for m, v in result.spread.items()}})
    return out


def pyridine_atom_table(graphs: Sequence, truth: Sequence, result: PyridineScores) -> pd.DataFrame:
    """One row per atom with every main method's score, its spread (``<method>_sd``) and ``truth``."""
    columns = {}
    for m, v in result.scores.items():
        columns[m] = v
        columns[f"{m}_sd"] = result.spread[m]
    table = atom_table(graphs, columns)
    truth_set = {(str(g.mol_id), int(a)) for g, t in zip(graphs, truth) for a in t}
    table["truth"] = [(str(m), int(a)) in truth_set for m, a in zip(table["mol_id"], table["atom_index"])]
    return table


def _bounds(graphs, truth, rates, rule: str, rng, n_rankings: int) -> dict:
    perfect = [np.isin(np.arange(g.num_nodes), t).astype(float) for g, t in zip(graphs, truth)]
    out = {}
    for name, scores in (("perfect", perfect), ("reversed", [-p for p in perfect])):
        res = substructure_prc_auc(scores, truth, rates, rule)
        out[name] = {"prc_auc": res["prc_auc"], "recall": res["recall"].tolist(),
                     "precision": res["precision"].tolist()}
    randoms = [substructure_prc_auc([rng.random(g.num_nodes) for g in graphs], truth, rates, rule)
               for _ in range(n_rankings)]
    out["random"] = {"prc_auc": float(np.mean([r["prc_auc"] for r in randoms])),
                     "prc_auc_sd": float(np.std([r["prc_auc"] for r in randoms])),
                     "recall": np.mean([r["recall"] for r in randoms], 0).tolist(),
                     "precision": np.mean([r["precision"] for r in randoms], 0).tolist()}
    return out


def ranking_bounds(graphs: Sequence, truth: Sequence, cfg: dict, seed: int, n_rankings: int = 20) -> dict:
    """The metric's range on these molecules under every extraction rule: PRC-AUC of a perfect
    ranking (ground-truth atoms first), of a reversed one, and the mean over ``n_rankings`` uniformly
    random rankings. The un-anchored curve makes even a perfect ranking score well below 1 (see
    ground_truth). Top level: the reference rule; ``by_rule``: every rule."""
    rates = _rates(cfg)
    by_rule = {rule: _bounds(graphs, truth, rates, rule, np.random.default_rng(seed), n_rankings)
               for rule in EXTRACTION_RULES}
    return {**by_rule[REFERENCE_RULE], "rule": REFERENCE_RULE, "by_rule": by_rule,
            "n_molecules": len(graphs), "rates": rates.tolist()}


def _methods(methods) -> list[str]:
    """Table 1's methods in report order, then any other method the config names."""
    present = list(dict.fromkeys(methods))
    return [m for m in METHODS if m in present] + [m for m in present if m not in METHODS]


def table1(prc: pd.DataFrame, column: str = "prc_auc") -> pd.DataFrame:
    """Mean and sd (population sd, ``ddof=0``, as the paper's code computes it) of PRC-AUC per
    method over models, beside the paper's numbers where it has them (``column``: the reference rule
    by default, the paper's scale)."""
    main = prc[prc["main"].astype(bool)].assign(prc_auc=lambda d: d[column])
    rows = []
    for method in _methods(main["method"]):
        v = main.loc[main["method"] == method, "prc_auc"].to_numpy(float)
        pm, ps = PAPER_TABLE1.get(method, (float("nan"), float("nan")))
        rows.append({"method": method, "name": METHOD_NAMES.get(method, method), "n_models": len(v),
                     "mean": float(v.mean()), "sd": float(v.std(ddof=0)),
                     "sd_ddof1": float(v.std(ddof=1)) if len(v) > 1 else float("nan"),
                     "paper_mean": pm, "paper_sd": ps, "diff": float(v.mean() - pm)})
    return pd.DataFrame(rows)


def wilcoxon_table(prc: pd.DataFrame, reference: str = REFERENCE_METHOD, column: str = "prc_auc") -> pd.DataFrame:
    """Paired Wilcoxon signed-rank tests of ``reference`` against every other method over models."""
    main = prc[prc["main"].astype(bool)].pivot_table(index="seed", columns="method", values=column)
    rows = []
    for other in _methods(main.columns):
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
        for m in t.index:
            gain = w.loc[m] if m in w.index else None
            rows.append({"rule": rule, "method": m, "n_models": int(t.loc[m, "n_models"]), "mean": t.loc[m, "mean"],
                         "sd": t.loc[m, "sd"], "bayesgrad_gain": float(gain["mean_diff"]) if gain is not None else 0.0,
                         "bayesgrad_gain_median": float(gain["median_diff"]) if gain is not None else 0.0,
                         "bayesgrad_higher": int(gain["n_a_higher"]) if gain is not None else 0,
                         "pvalue": float(gain["pvalue"]) if gain is not None else float("nan")})
    return pd.DataFrame(rows)


def noise_sweep_table(prc: pd.DataFrame) -> pd.DataFrame:
    """PRC-AUC mean and sd over models of every noisy method at every sigma of the sweep."""
    noisy = prc[prc["noise"].notna()]
    g = noisy.groupby(["method", "noise"])["prc_auc"]
    return g.agg(mean="mean", sd=lambda v: float(np.std(v, ddof=0)), n_models="count").reset_index()


def mean_curves(curves: pd.DataFrame) -> pd.DataFrame:
    main = curves[curves["main"].astype(bool)]
    return (main.groupby(["method", "rate"]).agg(recall=("recall", "mean"), precision=("precision", "mean"),
                                                  recall_sd=("recall", "std"), precision_sd=("precision", "std"))
            .reset_index())
