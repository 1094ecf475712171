"""The faithfulness leaderboard: every method on every experiment, on one scale, with honest intervals.

Input: the per-example faithfulness rows every experiment writes (experiment, modality, unit,
model, replicate, method, example, deletion_aopc, insertion_auc). Deletion AOPC has a different
scale in every experiment (a probability drop for images and text, log-solubility units for ESOL,
a logit for Tox21), so it is put on one scale before anything is compared across experiments:

    score = (mean AOPC(method) - mean AOPC(random)) / (mean AOPC(best order found) - mean AOPC(random))

within each (experiment, model, replicate), means over its examples. The best order found for an
example is the best of every method's order on that example (an oracle over the methods), so 0 is
the random order, 1 would be a method that is best on every example, and a negative score is worse
than random; the best single method scores below 1 and keeps an honest interval. Per example the
same affine map applies, so the cell's mean score is the mean of per-example scores.

Per cell (experiment, method): the mean score and a 95% bootstrap interval that resamples
replicates (models, folds, seeds: Tox21's subset models, ESOL's folds) and, within each, examples,
recomputing the normalisation in every resample. Within an experiment, a method's rank is 1 plus the
number of methods that beat it in a paired Wilcoxon test, Holm-corrected over all pairs of that
experiment (ties are methods no test separates). The test's unit is a trained model: over the
replicate models' means where an experiment has several, over one model's examples where it has one
(a claim about that model only); examples of different models are never pooled as independent. Across experiments, the mean of
each method's within-experiment ordinal rank, with its bootstrap interval. The module returns
numbers and never draws.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..names import FLOOR_METHOD as FLOOR
from .stats import model_level_wilcoxon

__all__ = ["BOOTSTRAP", "bootstrap_cells", "holm", "leaderboard", "normalised", "pairwise_tests",
           "verdicts", "within_experiment_ranks"]

BOOTSTRAP = 1000
KEY = ["experiment", "model", "replicate"]


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values (nan stays nan)."""
    p = np.asarray(pvalues, float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    order = np.argsort(q)
    m = len(q)
    adj = np.empty(m)
    running = 0.0
    for i, idx in enumerate(order):
        running = max(running, (m - i) * q[idx])
        adj[idx] = min(1.0, running)
    out[ok] = adj
    return out


def main_models(rows: pd.DataFrame) -> dict[tuple[str, str], str]:
    """For each (experiment, method), the model whose cell the leaderboard shows: the experiment's
    main model (the one with the most methods) where the method ran on it, else the model it ran on."""
    counts = rows.groupby(["experiment", "model"])["method"].nunique()
    first = {key: i for i, key in enumerate(dict.fromkeys(zip(rows["experiment"], rows["model"])))}
    out = {}
    for (exp, method), sub in rows.groupby(["experiment", "method"]):
        models = sorted(sub["model"].unique(), key=lambda mdl: (-counts[(exp, mdl)], first[(exp, mdl)]))
        out[(exp, method)] = models[0]
    return out


def _normalise_group(g: pd.DataFrame, metric: str) -> pd.DataFrame | None:
    """One (experiment, model, replicate) group's rows with ``score``; None without the random order."""
    wide = g.pivot_table(index="example", columns="method", values=metric)
    if FLOOR not in wide:
        return None
    denom = float(wide.max(axis=1).mean() - wide[FLOOR].mean())
    floor = g["example"].map(wide[FLOOR])
    return g.assign(denominator=denom, score=(g[metric] - floor) / denom if denom > 0 else np.nan)


def normalised(rows: pd.DataFrame, metric: str = "deletion_aopc") -> pd.DataFrame:
    """The per-example rows with ``score`` = the normalised ``metric`` (see the module docstring)
    and its ``denominator``; groups without the random order are dropped (they cannot be normalised)."""
    parts = [p for _, g in rows.groupby(KEY, sort=False) if (p := _normalise_group(g, metric)) is not None]
    return pd.concat(parts, ignore_index=True) if parts else rows.assign(score=np.nan, denominator=np.nan)


def _group_arrays(g: pd.DataFrame, metric: str) -> dict:
    """``{(model, replicate): (examples x methods array, methods)}`` of one experiment's rows."""
    out = {}
    for (model, rep), sub in g.groupby(["model", "replicate"], sort=False):
        wide = sub.pivot_table(index="example", columns="method", values=metric)
        if FLOOR in wide:
            out[(model, rep)] = (wide.to_numpy(float), list(wide.columns))
    return out


def _means(w: np.ndarray, methods: list) -> np.ndarray:
    """Normalised mean score of every method from an (examples x methods) block."""
    floor = w[:, methods.index(FLOOR)].mean()
    denom = np.nanmax(w, axis=1).mean() - floor
    return (np.nanmean(w, axis=0) - floor) / denom if denom > 0 else np.full(w.shape[1], np.nan)


def _experiment_means(groups: dict, reps, rng=None) -> dict:
    """``{(model, method): mean score}`` over the replicates ``reps`` (examples resampled when ``rng``)."""
    acc: dict = {}
    for (model, rep), (w, methods) in groups.items():
        for _ in range(int(np.sum(np.asarray(reps, dtype=object) == rep))):
            block = w if rng is None else w[rng.integers(0, len(w), len(w))]
            for m, v in zip(methods, _means(block, methods)):
                acc.setdefault((model, m), []).append(v)
    return {k: float(np.nanmean(v)) for k, v in acc.items()}


def bootstrap_cells(rows: pd.DataFrame, *, metric: str = "deletion_aopc", n_boot: int = BOOTSTRAP, seed: int = 0
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, bootstrap ranks). Cells: experiment, modality, unit, model, method, n_replicates, n_examples,
    the mean raw metric, score, score_lo, score_hi (95% hierarchical bootstrap: replicates, then examples
    within them). Bootstrap ranks: for each resample, each shown method's ordinal rank within its
    experiment by mean score (the input of the mean-rank interval)."""
    main = main_models(rows)
    rng = np.random.default_rng(seed)
    cells, boot_ranks = [], []
    for exp, g in rows.groupby("experiment", sort=False):
        groups = _group_arrays(g, metric)
        all_reps = list(dict.fromkeys(rep for _, rep in groups))
        point = _experiment_means(groups, all_reps)
        shown = {(main[(exp, m)], m) for m in g["method"].unique()}
        draws = []
        for b in range(n_boot):
            reps = list(rng.choice(np.asarray(all_reps, dtype=object), size=len(all_reps), replace=True)) \
                if len(all_reps) > 1 else all_reps
            d = _experiment_means(groups, reps, rng)
            draws.append(d)
            ranks = pd.Series({k[1]: v for k, v in d.items() if k in shown}).rank(ascending=False, method="average")
            boot_ranks += [{"experiment": exp, "method": m, "draw": b, "rank": float(r)} for m, r in ranks.items()]
        for (model, method), value in point.items():
            if (model, method) not in shown:
                continue
            sub = g[(g["model"] == model) & (g["method"] == method)]
            dist = np.array([d.get((model, method), np.nan) for d in draws])
            lo, hi = np.nanpercentile(dist, [2.5, 97.5]) if np.isfinite(dist).any() else (np.nan, np.nan)
            cells.append({"experiment": exp, "modality": sub["modality"].iloc[0], "unit": sub["unit"].iloc[0],
                          "model": model, "method": method, "n_replicates": int(sub["replicate"].nunique()),
                          "n_examples": int(len(sub)), metric: float(sub[metric].mean()), "score": float(value),
                          "score_lo": float(lo), "score_hi": float(hi)})
    return pd.DataFrame(cells), pd.DataFrame(boot_ranks, columns=["experiment", "method", "draw", "rank"])


def pairwise_tests(rows: pd.DataFrame, metric: str = "deletion_aopc") -> pd.DataFrame:
    """Paired Wilcoxon tests of the normalised score between every two methods of each experiment (each
    on its own cell's model), Holm-adjusted within the experiment. The trained model is the unit of
    evidence (:func:`~.stats.model_level_wilcoxon`): where an experiment has several replicate models,
    each model's mean over the examples both methods have is one pair (``n`` = models, ``unit`` =
    ``model``); with one model, its examples (``unit`` = ``example``: a claim about that model only).
    Examples of different models are never pooled as independent."""
    norm = normalised(rows, metric)
    main = main_models(rows)
    out = []
    for exp, g in norm.groupby("experiment", sort=False):
        keep = g[[main[(exp, m)] == mdl for m, mdl in zip(g["method"], g["model"])]]
        wide = keep.pivot_table(index=["replicate", "example"], columns="method", values="score")
        methods = list(wide.columns)
        tests = []
        for i, a in enumerate(methods):
            for b in methods[i + 1:]:
                both = wide[[a, b]].dropna()
                if len(both) < 2:
                    continue
                res = model_level_wilcoxon(both, a, b)
                tests.append({"experiment": exp, "method_a": a, "method_b": b, "n": res["n"], "unit": res["unit"],
                              "n_examples": res["n_examples"], "mean_diff": res["mean_diff"],
                              "pvalue": res["pvalue"]})
        adj = holm([t["pvalue"] for t in tests])
        for t, p in zip(tests, adj):
            t["p_holm"] = float(p)
        out += tests
    return pd.DataFrame(out, columns=["experiment", "method_a", "method_b", "n", "unit", "n_examples", "mean_diff",
                                      "pvalue", "p_holm"])


def within_experiment_ranks(cells: pd.DataFrame, tests: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """``rank`` = 1 + the number of methods of the experiment that beat the method (higher mean score,
    Holm-adjusted p < ``alpha``); methods no test separates share a rank."""
    ranks = []
    for exp, g in cells.groupby("experiment", sort=False):
        t = tests[tests["experiment"] == exp]
        for method in g["method"]:
            beats = 0
            for _, row in t.iterrows():
                if method not in (row["method_a"], row["method_b"]) or not row["p_holm"] < alpha:
                    continue
                diff = row["mean_diff"] if row["method_a"] != method else -row["mean_diff"]
                beats += int(diff > 0)  # the other method minus this one
            ranks.append({"experiment": exp, "method": method, "rank": 1 + beats})
    return pd.DataFrame(ranks)


def mean_ranks(boot_ranks: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per method: the mean over experiments of its ordinal rank by mean score, with the 95% bootstrap
    interval, and the number of experiments it applies to."""
    point = cells.assign(rank=cells.groupby("experiment")["score"].rank(ascending=False, method="average"))
    rows = []
    for method, g in point.groupby("method"):
        per_draw = boot_ranks[boot_ranks["method"] == method].groupby("draw")["rank"].mean()
        lo, hi = np.percentile(per_draw, [2.5, 97.5]) if len(per_draw) else (np.nan, np.nan)
        rows.append({"method": method, "mean_rank": float(g["rank"].mean()), "mean_rank_lo": float(lo),
                     "mean_rank_hi": float(hi), "n_experiments": int(g["experiment"].nunique())})
    return pd.DataFrame(rows).sort_values("mean_rank", kind="stable", ignore_index=True)


def _difference(norm: pd.DataFrame, exp: str, a: str, b: str, main: Mapping, n_boot: int, seed: int):
    g = norm[norm["experiment"] == exp]
    sa = g[(g["method"] == a) & (g["model"] == main.get((exp, a)))].set_index(["replicate", "example"])["score"]
    sb = g[(g["method"] == b) & (g["model"] == main.get((exp, b)))].set_index(["replicate", "example"])["score"]
    both = pd.concat([sa.rename("a"), sb.rename("b")], axis=1).dropna()
    if len(both) < 2:
        return None
    d = (both["a"] - both["b"]).to_numpy()
    reps = both.index.get_level_values(0).to_numpy()
    rng = np.random.default_rng(seed)
    uniq = np.unique(reps)
    groups = {r: d[reps == r] for r in uniq}
    draws = []
    for _ in range(n_boot):
        chosen = rng.choice(uniq, size=len(uniq), replace=True) if len(uniq) > 1 else uniq
        draws.append(np.concatenate([rng.choice(groups[r], size=len(groups[r]), replace=True) for r in chosen]).mean())
    lo, hi = np.percentile(draws, [2.5, 97.5])
    return float(d.mean()), float(lo), float(hi), int(len(d))


def verdicts(rows: pd.DataFrame, tests: pd.DataFrame, *, method: str = "bayesgrad",
             against: Sequence[str] = ("vanilla_grad", "smoothgrad"), n_boot: int = BOOTSTRAP, seed: int = 0,
             alpha: float = 0.05) -> pd.DataFrame:
    """``method`` against each of ``against`` per experiment: the mean paired difference of normalised
    scores with its bootstrap interval, the Holm-adjusted p, and a sentence."""
    norm = normalised(rows)
    main = main_models(rows)
    out = []
    for exp, g in norm.groupby("experiment", sort=False):
        modality = g["modality"].iloc[0]
        for other in against:
            res = _difference(norm, exp, method, other, main, n_boot, seed)
            if res is None:
                why = method if method not in set(g["method"]) else other
                out.append({"experiment": exp, "modality": modality, "versus": other, "diff": np.nan,
                            "diff_lo": np.nan, "diff_hi": np.nan, "n": 0, "p_holm": np.nan,
                            "verdict": f"no comparison: {why} was not measured on {exp}"})
                continue
            diff, lo, hi, n = res
            t = tests[(tests["experiment"] == exp) & (tests["method_a"].isin([method, other]))
                      & (tests["method_b"].isin([method, other]))]
            p = float(t["p_holm"].iloc[0]) if len(t) else np.nan
            n_test = int(t["n"].iloc[0]) if len(t) else 0
            unit = (f"{n_test} models" if len(t) and t["unit"].iloc[0] == "model"
                    else f"{n_test} examples of one model")
            models = f"{main.get((exp, method))} vs {main.get((exp, other))}"
            if p < alpha and diff > 0:
                word = "more faithful than"
            elif p < alpha and diff < 0:
                word = "less faithful than"
            else:
                word = "not distinguishable from"
            out.append({"experiment": exp, "modality": modality, "versus": other, "diff": diff, "diff_lo": lo,
                        "diff_hi": hi, "n": n, "p_holm": p, "test_n": n_test, "models": models,
                        "verdict": f"{method} is {word} {other} on {exp} ({modality}): normalised score "
                                   f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}], Holm p = {p:.2g} over {unit} "
                                   f"({n} examples; {models})"})
    return pd.DataFrame(out)


def leaderboard(rows: pd.DataFrame, *, n_boot: int = BOOTSTRAP, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Every table of the leaderboard from the gathered per-example rows: cells (with within-experiment
    ranks), the pairwise tests, the mean ranks across experiments and the BayesGrad verdicts."""
    cells, boot = bootstrap_cells(rows, n_boot=n_boot, seed=seed)
    tests = pairwise_tests(rows)
    ranks = within_experiment_ranks(cells, tests)
    cells = cells.merge(ranks, on=["experiment", "method"], how="left")
    return {"cells": cells, "tests": tests, "mean_ranks": mean_ranks(boot, cells),
            "verdicts": verdicts(rows, tests, n_boot=n_boot, seed=seed)}
