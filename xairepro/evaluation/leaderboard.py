"""The faithfulness leaderboard: every method on every experiment, on one scale, with honest intervals.

Input: the per-example faithfulness rows every experiment writes (experiment, modality, unit, model,
replicate, operator, method, example, deletion_aopc, insertion_auc, lerf_aopc, srg, upper_aopc).
Deletion AOPC has a different scale in every experiment (a probability drop for images and text,
log-solubility units for ESOL, a logit for Tox21), so it is put on one scale before anything is
compared across experiments. Within each (experiment, model, replicate, operator):

    score(example) = (AOPC(method, example) - AOPC(random, example)) / mean over the group's examples of
                     (AOPC(best order searched, example) - AOPC(random, example))

where the best order searched (``upper_aopc``) comes from a search that never looks at the methods
and the random order is :data:`~xairepro.names.FLOOR_METHOD`. Both are read from the random order's
own rows, so **a method's score does not depend on which other methods are on the board**: adding a
plugin or dropping a method leaves every other cell unchanged to the last digit. 0 is the random
order, 1 the searched best order on average, a negative score is worse than random. The same
denominator puts LeRF (least relevant first; lower is more faithful, so its sign is flipped) and SRG
(LeRF - MoRF, Bluecher et al. 2024) on the same scale for the metric-agreement tables.

Per cell (experiment, operator, method on its model): the mean score over the replicates' means and
a 95% bootstrap interval that resamples replicates (trained models) and, within each, examples,
recomputing the normalisation in every resample. Each (experiment, operator) has its own random
stream (seeded from the seed and its name), and the resampled rows never depend on the methods, so
the intervals are pool-independent too (the pairwise calls are not quite: Holm's correction counts
the pairs of the experiment).

Pairwise calls (:func:`pairwise_tests`), per (experiment, operator), for every two methods on their
cells' models: the mean paired difference of normalised scores with its hierarchical-bootstrap
interval (models, then examples), and a two-sided test whose unit is the trained model
(:func:`~xairepro.evaluation.stats.paired_model_test`: the pairs are the models' means, by the paired
t-test below 6 models and the Wilcoxon signed-rank test from 6; examples of different models are never
pooled as independent), Holm-corrected over every pair of the (experiment, operator) (statsmodels).
The call:

* ``equivalent``: the interval lies inside the region of practical equivalence ``[-rope, rope]``;
* ``better`` / ``worse`` (method_a against method_b): the interval excludes 0 and the Holm-adjusted
  p is below ``alpha``;
* ``undecided``: otherwise.

With one trained model the test's pairs are that model's examples (a Wilcoxon test) and the call's
``scope`` says it is a claim about that model only. With 3 models the signed-rank test's smallest
two-sided p would be 0.25, so no better/worse call could ever be made; the t-test over 3 models can
reach Holm's threshold only for a difference that is large against its spread over the models (with 20
methods, 190 pairs: t beyond about 60 with 2 degrees of freedom), which is what 3 models can carry.

Across experiments: the Friedman test on the per-experiment scores of the methods measured in every
experiment, with Wilcoxon signed-rank post-hoc tests Holm-corrected (Benavoli et al. 2016), and the
mean ranks a critical-difference diagram draws. Metric agreement: per experiment, Kendall's tau
between the method rankings of every two (operator x MoRF/LeRF/SRG). Checks of the checks: the A/A
false-call rate of :func:`pairwise_tests` (:func:`aa_check`), the random order last in the bootstrap
draws (:func:`random_last`), the bound's coverage (:func:`bound_coverage`). The module returns numbers
and never draws.
"""
from __future__ import annotations

import warnings
import zlib
from itertools import combinations
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..names import FLOOR_METHOD as FLOOR

__all__ = ["AA_SD", "AA_SETTINGS", "ALPHA", "BOOTSTRAP", "CALLS", "COMPARED_WITH", "DEFAULT_OPERATOR",
           "METRICS", "REQUIRED", "ROPE", "aa_arrays", "aa_check", "aa_rows", "bootstrap_cells", "bound_coverage",
           "check_rows", "friedman_test", "headline_operators", "holm", "leaderboard", "main_models",
           "mean_ranks", "metric_agreement", "normalised", "pairwise_tests", "point_scores", "random_last",
           "verdicts", "within_experiment_ranks"]

BOOTSTRAP = 1000
#: Significance level of every test of the leaderboard (after Holm's correction).
ALPHA = 0.05
#: Default region of practical equivalence, in units of the normalised score (config ``leaderboard.rope``).
ROPE = 0.05
#: The operator of an experiment's headline cells when ``leaderboard.headline_operator`` does not name one.
DEFAULT_OPERATOR = "baseline"
#: The grouping within which a score is normalised.
KEY = ["experiment", "model", "replicate", "operator"]
#: Columns the per-example rows must have.
REQUIRED = ("experiment", "modality", "unit", "model", "replicate", "operator", "method", "example",
            "deletion_aopc", "upper_aopc")
#: Curve metrics of the agreement tables: name -> (column, sign that makes higher = more faithful).
METRICS = {"MoRF": ("deletion_aopc", 1.0), "LeRF": ("lerf_aopc", -1.0), "SRG": ("srg", 1.0)}
BETTER, WORSE, EQUIVALENT, UNDECIDED = "better", "worse", "equivalent", "undecided"
CALLS = (BETTER, WORSE, EQUIVALENT, UNDECIDED)
#: The methods BayesGrad is compared with per experiment (absent ones give "no comparison").
COMPARED_WITH = ("vanilla_grad", "smoothgrad", "noisegrad", "fusiongrad", "vargrad")
#: The A/A simulation's settings (models, examples per model) and its noise (between-model sd,
#: within-model sd of the normalised difference, as measured on the quick Tox21 rows).
AA_SETTINGS = ((3, 40), (30, 91))
AA_SD = (0.179, 0.391)

TEST_COLUMNS = ["experiment", "operator", "method_a", "method_b", "model_a", "model_b", "n", "unit", "test",
                "n_models", "n_examples", "mean_diff", "diff_lo", "diff_hi", "pvalue", "p_holm", "call", "scope"]


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values (statsmodels ``multipletests``); nan stays nan and is not counted."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, float)
    out = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if ok.sum() == 1:  # one hypothesis: Holm leaves its p as it is (and statsmodels' call costs a gc pass)
        out[ok] = p[ok]
    elif ok.any():
        out[ok] = multipletests(p[ok], method="holm")[1]
    return out


def _stream(seed: int, *names) -> np.random.Generator:
    """A random stream of its own for ``names`` (an experiment, an operator, a pair of methods)."""
    return np.random.default_rng([int(seed), zlib.crc32("\x00".join(map(str, names)).encode())])


def check_rows(rows: pd.DataFrame, metric: str = "deletion_aopc", source: str = "per-example rows") -> None:
    """Raise ``ValueError`` naming ``source`` when a required column or ``metric`` is missing, or when
    ``upper_aopc`` differs between the methods' rows of one (experiment, model, replicate, operator,
    example): the searched bound is one number per example and operator."""
    missing = [c for c in (*REQUIRED, metric) if c not in rows.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {sorted(set(missing))}; the leaderboard needs "
                         f"{list(REQUIRED)} and the metric {metric!r}")
    upper = rows.groupby(KEY + ["example"], sort=False)["upper_aopc"].agg(["min", "max"])
    bad = upper[(upper["max"] - upper["min"]) > 1e-9 * (1.0 + upper["max"].abs())]
    if len(bad):
        key = ", ".join(f"{k}={v}" for k, v in zip(KEY + ["example"], bad.index[0]))
        raise ValueError(f"{source}: upper_aopc differs between the methods' rows of {key} "
                         f"({float(bad['min'].iloc[0])} vs {float(bad['max'].iloc[0])}); it must be one value per "
                         f"example and operator")


def _sign(metric: str) -> float:
    return next((s for col, s in METRICS.values() if col == metric), 1.0)


def _floor(rows: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (experiment, model, replicate, operator, example), from the random order's rows only: ``floor``
    (its ``metric``) and ``gap`` (upper_aopc - its deletion AOPC)."""
    rnd = rows[rows["method"] == FLOOR]
    fl = rnd.groupby(KEY + ["example"], sort=False).agg(floor=(metric, "mean"), deletion=("deletion_aopc", "mean"),
                                                        upper=("upper_aopc", "first"))
    fl["gap"] = fl["upper"] - fl["deletion"]
    return fl[["floor", "gap"]]


def normalised(rows: pd.DataFrame, metric: str = "deletion_aopc") -> pd.DataFrame:
    """The per-example rows with ``score`` (the normalised ``metric``, sign-flipped for LeRF so that
    higher is more faithful; see the module docstring) and ``denominator``. Rows of a group without the
    random order, or of an example the random order was not measured on, are dropped (they cannot be
    normalised); a group whose searched bound is not above random on average gets nan scores."""
    check_rows(rows, metric)
    fl = _floor(rows, metric)
    denom = fl.groupby(level=KEY, sort=False)["gap"].mean().rename("denominator")
    out = rows.join(fl["floor"], on=KEY + ["example"], how="inner").join(denom, on=KEY, how="inner")
    d = out["denominator"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(d > 0, _sign(metric) * (out[metric].to_numpy(float) - out["floor"].to_numpy(float)) / d,
                         np.nan)
    return out.drop(columns="floor").assign(score=score).reset_index(drop=True)


def main_models(rows: pd.DataFrame) -> dict[tuple[str, str], str]:
    """For each (experiment, method), the model whose cell the leaderboard shows: the experiment's
    main model (the one with the most methods) where the method ran on it, else the model it ran on."""
    counts = rows.groupby(["experiment", "model"])["method"].nunique()
    pairs = rows[["experiment", "model"]].drop_duplicates()
    first = {key: i for i, key in enumerate(zip(pairs["experiment"], pairs["model"]))}
    out = {}
    for (exp, method), sub in rows.groupby(["experiment", "method"]):
        models = sorted(sub["model"].unique(), key=lambda mdl: (-counts[(exp, mdl)], first[(exp, mdl)]))
        out[(exp, method)] = models[0]
    return out


def headline_operators(rows: pd.DataFrame, headline: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{experiment: operator}`` of the headline cells: ``headline`` (config
    ``leaderboard.headline_operator``) where it names the experiment, else :data:`DEFAULT_OPERATOR`.
    Raises ``ValueError`` naming the config key when an experiment has no rows of that operator."""
    headline = dict(headline or {})
    out = {}
    for exp, g in rows.groupby("experiment", sort=False):
        op = headline.get(exp, DEFAULT_OPERATOR)
        have = list(dict.fromkeys(g["operator"]))
        if op not in have:
            raise ValueError(f"leaderboard.headline_operator: experiment {exp!r} has no rows of operator {op!r} "
                             f"(its operators: {have})")
        out[exp] = op
    return out


def _blocks(g: pd.DataFrame, metric: str) -> dict:
    """``{(model, replicate): (per-example signed metric, examples x methods; methods; floor; gap;
    examples)}`` of one (experiment, operator), over the examples the random order was measured on."""
    sign = _sign(metric)
    fl = _floor(g, metric)
    wide_all = g.groupby(["model", "replicate", "example", "method"], sort=False)[metric].mean().unstack("method")
    exp, op = g["experiment"].iloc[0], g["operator"].iloc[0]
    floors = {k: f.droplevel(list(range(len(KEY)))) for k, f in fl.groupby(level=KEY, sort=False)}
    out = {}
    for (model, rep), wide in wide_all.groupby(level=["model", "replicate"], sort=False):
        f = floors.get((exp, model, rep, op))
        if f is None:
            continue
        wide = wide.droplevel(["model", "replicate"]).dropna(axis=1, how="all").reindex(f.index)
        out[(model, rep)] = (sign * wide.to_numpy(float), list(wide.columns), sign * f["floor"].to_numpy(float),
                             f["gap"].to_numpy(float), f.index)
    return out


def _block_means(w, floor, gap, idx=None) -> np.ndarray:
    """Mean normalised score of every method (columns of ``w``), per resample (rows of ``idx``: example
    indices) or once (``idx`` None): (B, methods)."""
    if idx is None:
        idx = np.arange(len(w))[None, :]
    denom = gap[idx].mean(axis=1)
    scores = (w[idx] - floor[idx][..., None]) / np.where(denom > 0, denom, np.nan)[:, None, None]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(scores, axis=1)


def _combine(values: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> np.ndarray:
    """Per draw, the weighted mean of the replicates' values (nan where a replicate lacks the cell)."""
    v, w = np.vstack(values), np.vstack(weights).astype(float)
    w = np.where(np.isnan(v), 0.0, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w.sum(0) > 0, np.nansum(v * w, 0) / w.sum(0), np.nan)


def _replicate_weights(reps: list, rng: np.random.Generator, n_boot: int) -> dict:
    """``{replicate: (n_boot,) counts}``: how often each replicate is drawn in each resample."""
    if len(reps) == 1:
        return {reps[0]: np.ones(n_boot)}
    picks = rng.integers(0, len(reps), (n_boot, len(reps)))
    return {r: (picks == i).sum(axis=1).astype(float) for i, r in enumerate(reps)}


def _cell_draws(blocks: dict, shown: set, rng: np.random.Generator | None, n_boot: int) -> dict:
    """``{(model, method): (B,) mean score}`` over the replicates, per resample (``rng``) or once."""
    reps = list(dict.fromkeys(rep for _, rep in blocks))
    weights = _replicate_weights(reps, rng, n_boot) if rng is not None else {r: np.ones(1) for r in reps}
    values: dict = {}
    for (model, rep), (w, methods, floor, gap, _) in blocks.items():
        idx = rng.integers(0, len(w), (n_boot, len(w))) if rng is not None else None
        means = _block_means(w, floor, gap, idx)
        for j, m in enumerate(methods):
            if (model, m) in shown:
                values.setdefault((model, m), ([], []))
                values[(model, m)][0].append(means[:, j])
                values[(model, m)][1].append(weights[rep])
    return {k: _combine(v, wt) for k, (v, wt) in values.items()}


def bootstrap_cells(rows: pd.DataFrame, *, metric: str = "deletion_aopc", n_boot: int = BOOTSTRAP, seed: int = 0
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(cells, draws) for every (experiment, operator). Cells: experiment, operator, modality, unit, model,
    method, n_replicates, n_examples, the mean raw metric, score, score_lo, score_hi (95% hierarchical
    bootstrap: replicates, then examples within them). Draws: experiment, operator, method, draw, score
    for each shown cell and resample (the input of the mean-rank interval and of :func:`random_last`)."""
    check_rows(rows, metric)
    main = main_models(rows)
    cells, draws = [], []
    for (exp, op), g in rows.groupby(["experiment", "operator"], sort=False):
        shown = {(main[(exp, m)], m) for m in g["method"].unique()}
        blocks = _blocks(g, metric)
        if not blocks:
            continue
        point = _cell_draws(blocks, shown, None, 1)
        boot = _cell_draws(blocks, shown, _stream(seed, exp, op), n_boot)
        for (model, method), value in point.items():
            sub = g[(g["model"] == model) & (g["method"] == method)]
            dist = boot[(model, method)]
            lo, hi = np.nanpercentile(dist, [2.5, 97.5]) if np.isfinite(dist).any() else (np.nan, np.nan)
            cells.append({"experiment": exp, "operator": op, "modality": sub["modality"].iloc[0],
                          "unit": sub["unit"].iloc[0], "model": model, "method": method,
                          "n_replicates": int(sub["replicate"].nunique()), "n_examples": int(len(sub)),
                          metric: float(sub[metric].mean()), "score": float(value[0]), "score_lo": float(lo),
                          "score_hi": float(hi)})
            draws.append(pd.DataFrame({"experiment": exp, "operator": op, "method": method,
                                       "draw": np.arange(n_boot), "score": dist}))
    cells = pd.DataFrame(cells)
    draws = pd.concat(draws, ignore_index=True) if draws else pd.DataFrame(
        columns=["experiment", "operator", "method", "draw", "score"])
    return cells, draws


def point_scores(rows: pd.DataFrame, metric: str = "deletion_aopc") -> pd.DataFrame:
    """Per (experiment, operator, method on its cell's model): the mean over replicates of the mean
    normalised ``metric`` (the cells' point value, without the bootstrap)."""
    norm = normalised(rows, metric)
    main = main_models(rows)
    norm = norm[[main[(e, m)] == mdl for e, m, mdl in zip(norm["experiment"], norm["method"], norm["model"])]]
    per_rep = norm.groupby(["experiment", "operator", "model", "method", "replicate"], sort=False)["score"].mean()
    return per_rep.groupby(level=[0, 1, 2, 3], sort=False).mean().rename("score").reset_index()


def _pair_arrays(blocks: dict, a: str, b: str, model_a: str, model_b: str) -> dict:
    """``{replicate: (xa, fa, ga, xb, fb, gb)}`` from :func:`_blocks`, over the examples where both
    methods (and the random order) were measured: each method's signed metric, its group's signed floor
    and gap."""
    out = {}
    for rep in dict.fromkeys(r for _, r in blocks):
        ba, bb = blocks.get((model_a, rep)), blocks.get((model_b, rep))
        if ba is None or bb is None or a not in ba[1] or b not in bb[1]:
            continue
        xa, xb = ba[0][:, ba[1].index(a)], bb[0][:, bb[1].index(b)]
        if model_a == model_b:
            ia = ib = np.flatnonzero(~np.isnan(xa) & ~np.isnan(xb))
        else:
            common = ba[4][~np.isnan(xa)].intersection(bb[4][~np.isnan(xb)])
            ia, ib = ba[4].get_indexer(common), bb[4].get_indexer(common)
        if not len(ia):
            continue
        out[rep] = (xa[ia], ba[2][ia], ba[3][ia], xb[ib], bb[2][ib], bb[3][ib])
    return out


def _diff_means(arrays, idx=None) -> np.ndarray:
    xa, fa, ga, xb, fb, gb = arrays
    if idx is None:
        idx = np.arange(len(xa))[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        sa = (xa[idx].mean(1) - fa[idx].mean(1)) / ga[idx].mean(1)
        sb = (xb[idx].mean(1) - fb[idx].mean(1)) / gb[idx].mean(1)
    return sa - sb


def _pair_test(arrays: dict, rng: np.random.Generator, n_boot: int) -> dict:
    """The evidence on one pair from :func:`_pair_arrays`: the mean over replicates of the replicates'
    mean normalised differences (``mean_diff``), its hierarchical-bootstrap interval (replicates, then
    examples within each), and the two-sided model-level test whose pairs are the replicates' means
    (``unit`` = ``model``, :func:`~.stats.paired_model_test`) or, with one replicate, the Wilcoxon test
    whose pairs are its examples (``unit`` = ``example``); ``test`` names the test."""
    from .stats import paired_model_test, paired_wilcoxon

    reps = list(arrays)
    per_rep = np.array([_diff_means(arrays[r])[0] for r in reps])
    weights = _replicate_weights(reps, rng, n_boot)
    draws = [_diff_means(arrays[r], rng.integers(0, len(arrays[r][0]), (n_boot, len(arrays[r][0])))) for r in reps]
    dist = _combine(draws, [weights[r] for r in reps])
    lo, hi = np.nanpercentile(dist, [2.5, 97.5]) if np.isfinite(dist).any() else (np.nan, np.nan)
    if len(reps) > 1:
        res = paired_model_test(per_rep, np.zeros_like(per_rep))
        unit = "model"
    else:
        xa, fa, ga, xb, fb, gb = arrays[reps[0]]
        res = {**paired_wilcoxon((xa - fa) / ga.mean(), (xb - fb) / gb.mean()), "test": "wilcoxon"}
        unit = "example"
    return {"n": res["n"], "unit": unit, "test": res["test"], "n_models": len(reps), "n_examples": int(sum(len(v[0]) for v in arrays.values())),
            "mean_diff": float(per_rep.mean()), "diff_lo": float(lo), "diff_hi": float(hi), "pvalue": res["pvalue"]}


def _call(lo: float, hi: float, p_holm: float, rope: float, alpha: float) -> str:
    """The declared rule: equivalent inside the ROPE; better/worse when the interval excludes 0 and
    the model-level test passes Holm; undecided otherwise."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return UNDECIDED
    if -rope <= lo and hi <= rope:
        return EQUIVALENT
    if np.isfinite(p_holm) and p_holm < alpha and (lo > 0 or hi < 0):
        return BETTER if lo > 0 else WORSE
    return UNDECIDED


def pairwise_tests(rows: pd.DataFrame, metric: str = "deletion_aopc", *, rope: float = ROPE, alpha: float = ALPHA,
                   n_boot: int = BOOTSTRAP, seed: int = 0, operators: Mapping[str, str] | None = None
                   ) -> pd.DataFrame:
    """Every two methods of each (experiment, operator) (only the experiment's operator in ``operators``
    where given), each on its own cell's model: the mean paired difference a - b of normalised scores,
    its hierarchical-bootstrap interval (``diff_lo``, ``diff_hi``: replicates, then examples), the
    model-level test (``unit`` = ``model`` over several replicates, ``example`` with one:
    a claim about that model only), Holm-adjusted over the (experiment, operator)'s pairs, the
    ``call`` (see the module docstring) and its ``scope``."""
    check_rows(rows, metric)
    main = main_models(rows)
    out = []
    for (exp, op), g in rows.groupby(["experiment", "operator"], sort=False):
        if operators is not None and operators.get(exp) != op:
            continue
        blocks = _blocks(g, metric)
        methods = sorted(set(g["method"]))
        tests = []
        for a, b in combinations(methods, 2):
            ma, mb = main[(exp, a)], main[(exp, b)]
            arrays = _pair_arrays(blocks, a, b, ma, mb)
            if not arrays or sum(len(v[0]) for v in arrays.values()) < 2:
                continue
            res = _pair_test(arrays, _stream(seed, exp, op, a, b), n_boot)
            reps = list(arrays)
            scope = (f"{res['n_models']} models" if res["n_models"] > 1 else
                     f"one model ({ma}{'' if ma == mb else ' vs ' + mb}, replicate {reps[0]}): "
                     f"a claim about this trained model only")
            tests.append({"experiment": exp, "operator": op, "method_a": a, "method_b": b, "model_a": ma,
                          "model_b": mb, "n": res["n"], "unit": res["unit"], "test": res["test"],
                          "n_models": res["n_models"],
                          "n_examples": res["n_examples"], "mean_diff": res["mean_diff"], "diff_lo": res["diff_lo"],
                          "diff_hi": res["diff_hi"], "pvalue": res["pvalue"], "scope": scope})
        for t, p in zip(tests, holm([t["pvalue"] for t in tests])):
            t["p_holm"] = float(p)
            t["call"] = _call(t["diff_lo"], t["diff_hi"], t["p_holm"], rope, alpha)
        out += tests
    return pd.DataFrame(out, columns=TEST_COLUMNS)


def within_experiment_ranks(cells: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """``rank`` = 1 + the number of methods of the (experiment, operator) called better than the
    method (:func:`pairwise_tests`' ``call``); methods no call separates share a rank."""
    ranks = []
    for (exp, op), g in cells.groupby(["experiment", "operator"], sort=False):
        t = tests[(tests["experiment"] == exp) & (tests["operator"] == op)]
        for method in g["method"]:
            beaten = (((t["method_b"] == method) & (t["call"] == BETTER)).sum()
                      + ((t["method_a"] == method) & (t["call"] == WORSE)).sum())
            ranks.append({"experiment": exp, "operator": op, "method": method, "rank": 1 + int(beaten)})
    return pd.DataFrame(ranks, columns=["experiment", "operator", "method", "rank"])


def mean_ranks(draws: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Per method: the mean over experiments of its ordinal rank by mean score among the (headline)
    ``cells``, with the 95% bootstrap interval from ``draws``, and the number of experiments it applies to."""
    point = cells.assign(rank=cells.groupby("experiment")["score"].rank(ascending=False, method="average"))
    keep = draws.merge(cells[["experiment", "operator", "method"]], on=["experiment", "operator", "method"])
    keep = keep.assign(rank=keep.groupby(["experiment", "draw"])["score"].rank(ascending=False, method="average"))
    rows = []
    for method, g in point.groupby("method"):
        per_draw = keep[keep["method"] == method].groupby("draw")["rank"].mean()
        lo, hi = np.percentile(per_draw, [2.5, 97.5]) if len(per_draw) else (np.nan, np.nan)
        rows.append({"method": method, "mean_rank": float(g["rank"].mean()), "mean_rank_lo": float(lo),
                     "mean_rank_hi": float(hi), "n_experiments": int(g["experiment"].nunique())})
    return pd.DataFrame(rows).sort_values("mean_rank", kind="stable", ignore_index=True)


_WORDS = {BETTER: "more faithful than", WORSE: "less faithful than", UNDECIDED: "undecided against"}


def verdicts(tests: pd.DataFrame, cells: pd.DataFrame, *, method: str = "bayesgrad",
             against: Sequence[str] = COMPARED_WITH, rope: float = ROPE) -> pd.DataFrame:
    """``method`` against each of ``against`` per experiment, on the operators of ``cells`` (the
    headline cells): the call of :func:`pairwise_tests` with its interval, Holm-adjusted p, scope and a
    sentence; "no comparison" where either method was not measured."""
    out = []
    for (exp, op), g in cells.groupby(["experiment", "operator"], sort=False):
        modality = g["modality"].iloc[0]
        present = set(g["method"])
        t = tests[(tests["experiment"] == exp) & (tests["operator"] == op)]
        for other in against:
            base = {"experiment": exp, "operator": op, "modality": modality, "versus": other}
            row = t[((t["method_a"] == method) & (t["method_b"] == other))
                    | ((t["method_a"] == other) & (t["method_b"] == method))]
            if method not in present or other not in present or not len(row):
                why = method if method not in present else other
                out.append({**base, "call": "no comparison", "diff": np.nan, "diff_lo": np.nan, "diff_hi": np.nan,
                            "p_holm": np.nan, "test_n": 0, "unit": "", "scope": "",
                            "verdict": f"no comparison: {why} was not measured on {exp}"})
                continue
            r = row.iloc[0]
            flip = r["method_a"] != method
            diff, lo, hi = (-r["mean_diff"], -r["diff_hi"], -r["diff_lo"]) if flip else \
                (r["mean_diff"], r["diff_lo"], r["diff_hi"])
            call = {BETTER: WORSE, WORSE: BETTER}.get(r["call"], r["call"]) if flip else r["call"]
            word = _WORDS.get(call, f"practically equivalent (within ±{rope:g}) to")
            models = f"{r['model_b'] if flip else r['model_a']} vs {r['model_a'] if flip else r['model_b']}"
            over = f"{r['n']} models" if r["unit"] == "model" else f"{r['n']} examples of one model"
            text = (f"{method} is {word} {other} on {exp} ({modality}, operator {op}): normalised score difference "
                    f"{diff:+.3f} [{lo:+.3f}, {hi:+.3f}], Holm p = {r['p_holm']:.2g} over {over} ({models})")
            if r["unit"] != "model":
                text += "; a claim about this trained model only"
            out.append({**base, "call": call, "diff": diff, "diff_lo": lo, "diff_hi": hi, "p_holm": r["p_holm"],
                        "test_n": int(r["n"]), "unit": r["unit"], "scope": r["scope"], "verdict": text})
    return pd.DataFrame(out)


def friedman_test(cells: pd.DataFrame, *, alpha: float = ALPHA) -> dict[str, pd.DataFrame]:
    """Across experiments, on the (headline) ``cells``' scores, the methods measured in every experiment
    (the others are listed in ``excluded``: Friedman's test needs complete blocks): ``friedman`` (one
    row: statistic, p, counts, excluded), ``posthoc`` (every pair: Wilcoxon signed-rank over the
    experiments, Holm-adjusted, Benavoli et al. 2016) and ``ranks`` (each method's mean rank, 1 = best,
    the critical-difference diagram's positions)."""
    from scipy.stats import friedmanchisquare, wilcoxon

    wide = cells.pivot_table(index="experiment", columns="method", values="score")
    complete = [m for m in wide.columns if wide[m].notna().all()]
    excluded = sorted(set(wide.columns) - set(complete))
    wide = wide[complete]
    summary = {"n_experiments": int(len(wide)), "n_methods": len(complete), "excluded": ", ".join(excluded),
               "statistic": np.nan, "pvalue": np.nan}
    ranks = wide.rank(axis=1, ascending=False, method="average").mean().rename("mean_rank")
    pairs = []
    if len(complete) >= 3 and len(wide) >= 2:
        res = friedmanchisquare(*[wide[m].to_numpy() for m in complete])
        summary.update(statistic=float(res.statistic), pvalue=float(res.pvalue))
        for a, b in combinations(complete, 2):
            d = wide[a].to_numpy() - wide[b].to_numpy()
            p = 1.0 if np.all(d == 0) else float(wilcoxon(wide[a], wide[b]).pvalue)
            pairs.append({"method_a": a, "method_b": b, "n": int(len(d)), "mean_diff": float(d.mean()), "pvalue": p})
    posthoc = pd.DataFrame(pairs, columns=["method_a", "method_b", "n", "mean_diff", "pvalue"])
    posthoc["p_holm"] = holm(posthoc["pvalue"]) if len(posthoc) else []
    posthoc["significant"] = posthoc["p_holm"] < alpha
    return {"friedman": pd.DataFrame([summary]), "posthoc": posthoc,
            "ranks": ranks.sort_values().rename_axis("method").reset_index()}


def metric_agreement(rows: pd.DataFrame) -> pd.DataFrame:
    """Per experiment, Kendall's tau (scipy) between the method rankings (the random order left out;
    main-model cells' point scores) of every two (operator x MoRF/LeRF/SRG) present in ``rows``:
    experiment, a, b (``operator/metric``), tau, pvalue, n_methods."""
    from scipy.stats import kendalltau

    scores = []
    for name, (col, _) in METRICS.items():
        if col in rows.columns and rows[col].notna().any():
            scores.append(point_scores(rows, col).assign(ranking=lambda d, n=name: d["operator"] + "/" + n))
    scores = pd.concat(scores, ignore_index=True)
    scores = scores[scores["method"] != FLOOR]
    out = []
    for exp, g in scores.groupby("experiment", sort=False):
        wide = g.pivot_table(index="method", columns="ranking", values="score", sort=False)
        for a, b in combinations(wide.columns, 2):
            both = wide[[a, b]].dropna()
            tau, p = kendalltau(both[a], both[b]) if len(both) >= 3 else (np.nan, np.nan)
            out.append({"experiment": exp, "a": a, "b": b, "tau": float(tau), "pvalue": float(p),
                        "n_methods": int(len(both))})
    return pd.DataFrame(out, columns=["experiment", "a", "b", "tau", "pvalue", "n_methods"])


def consensus(agreement: pd.DataFrame, headline: Mapping[str, str]) -> pd.DataFrame:
    """Per experiment and ranking (``operator/metric``): its mean Kendall tau with every other ranking;
    ``consensus`` marks the MoRF ranking with the highest mean (the operator whose deletion ranking the
    other operators and metrics agree with most), ``headline`` the configured headline's MoRF ranking."""
    if agreement.empty:
        return pd.DataFrame(columns=["experiment", "ranking", "mean_tau", "consensus", "headline"])
    long = pd.concat([agreement.rename(columns={"a": "ranking", "b": "other"}),
                      agreement.rename(columns={"b": "ranking", "a": "other"})], ignore_index=True)
    mean = long.groupby(["experiment", "ranking"], sort=False)["tau"].mean().rename("mean_tau").reset_index()
    morf = mean[mean["ranking"].str.endswith("/MoRF") & mean["mean_tau"].notna()]
    best = morf.loc[morf.groupby("experiment")["mean_tau"].idxmax()] if len(morf) else morf
    mean["consensus"] = mean.index.isin(best.index)
    mean["headline"] = [r == f"{headline.get(e, DEFAULT_OPERATOR)}/MoRF" for e, r in zip(mean["experiment"],
                                                                                        mean["ranking"])]
    order = {e: i for i, e in enumerate(dict.fromkeys(mean["experiment"]))}
    return mean.sort_values("experiment", key=lambda e: e.map(order), kind="stable", ignore_index=True)


def random_last(cells: pd.DataFrame, draws: pd.DataFrame, *, rope: float = ROPE, share: float = 0.95
                ) -> pd.DataFrame:
    """Per (experiment, operator) of ``cells``: the share of bootstrap draws in which the random order is
    last or tied last (no method's score below the random order's by more than ``rope``, the region
    of practical equivalence), whether the check applies (some non-random method's interval lies above
    0) and whether it passes (share >= ``share``); ``below_random`` names the methods whose whole
    interval lies below the random order's by more than ``rope`` (a method worse than random makes the
    check fail; that it is measured so is a finding about the method, not the floor)."""
    out = []
    for (exp, op), g in cells.groupby(["experiment", "operator"], sort=False):
        if FLOOR not in set(g["method"]):
            continue
        d = draws[(draws["experiment"] == exp) & (draws["operator"] == op)]
        wide = d.pivot_table(index="draw", columns="method", values="score")
        others = wide.drop(columns=FLOOR)
        last = (others.min(axis=1) >= wide[FLOOR] - rope).to_numpy()
        applies = bool((g.loc[g["method"] != FLOOR, "score_lo"] > 0).any())
        frac = float(last.mean()) if len(last) else np.nan
        below = g.loc[(g["method"] != FLOOR) & (g["score_hi"] < -rope), "method"]
        out.append({"experiment": exp, "operator": op, "random_last_share": frac, "n_draws": int(len(last)),
                    "applies": applies, "passes": (frac >= share) if applies else np.nan,
                    "below_random": ", ".join(sorted(below))})
    return pd.DataFrame(out, columns=["experiment", "operator", "random_last_share", "n_draws", "applies",
                                      "passes", "below_random"])


def bound_coverage(bounds: pd.DataFrame) -> pd.DataFrame:
    """Per (experiment, operator) of the suite's ``bounds`` tables: how many examples, the share where the
    searched order is at least as good as every method's (``covered``), the searches used, and their
    cost (forward passes, seconds)."""
    cols = ["experiment", "operator", "n_examples", "covered_share", "search", "n_forward", "seconds"]
    if bounds is None or bounds.empty:
        return pd.DataFrame(columns=cols)
    missing = [c for c in ("experiment", "operator", "covered", "search", "n_forward", "seconds")
               if c not in bounds.columns]
    if missing:
        raise ValueError(f"bounds table: missing column(s) {missing}")
    covered = bounds["covered"].astype(str).str.lower().isin(["true", "1", "1.0"])
    out = (bounds.assign(covered=covered).groupby(["experiment", "operator"], sort=False)
           .agg(n_examples=("covered", "size"), covered_share=("covered", "mean"),
                search=("search", lambda s: ", ".join(sorted(set(map(str, s))))),
                n_forward=("n_forward", "sum"), seconds=("seconds", "sum")).reset_index())
    return out[cols]


def aa_arrays(rng: np.random.Generator, n_models: int, n_examples: int, *, between: float = AA_SD[0],
              within: float = AA_SD[1]) -> dict:
    """One simulated A/A comparison in the form :func:`pairwise_tests` compares a pair, ``{replicate:
    (xa, fa, ga, xb, fb, gb)}``: ``method`` (a) and ``method_again`` (b, the same method with another
    seed) with no true difference: b adds a per-model offset shared by a model's examples (sd
    ``between``) and example noise (sd ``within``) of the normalised difference; every example's gap
    between the random order and the searched bound is 1, so the normalised difference is exactly that."""
    out = {}
    for m in range(n_models):
        offset = rng.normal(0.0, between)
        base = rng.normal(0.0, 1.0, n_examples)
        noise = rng.normal(0.0, within, n_examples)
        gap = np.ones(n_examples)
        out[m] = (base + 0.5, base, gap, base + 0.5 + offset + noise, base, gap)
    return out


def aa_rows(arrays: dict) -> pd.DataFrame:
    """The per-example rows of a simulated A/A comparison (:func:`aa_arrays`): the random order, the
    searched bound, ``method`` and ``method_again``."""
    recs = []
    for rep, (xa, fa, ga, xb, _, _) in arrays.items():
        for method, value in ((FLOOR, fa), ("method", xa), ("method_again", xb)):
            recs.append(pd.DataFrame({"method": method, "replicate": rep, "example": np.arange(len(xa)),
                                      "deletion_aopc": value, "upper_aopc": fa + ga}))
    return pd.concat(recs, ignore_index=True).assign(experiment="aa", modality="simulated", unit="unit",
                                                     model="model", operator=DEFAULT_OPERATOR)


def aa_check(n_models: int, n_examples: int, *, repetitions: int = 200, seed: int = 0, n_boot: int = 500,
             rope: float = ROPE, alpha: float = ALPHA, between: float = AA_SD[0], within: float = AA_SD[1]) -> dict:
    """The A/A check: ``repetitions`` simulated comparisons of a method with itself (:func:`aa_arrays`),
    each decided by the code that decides every pair of :func:`pairwise_tests` (its bootstrap interval,
    model-level test, Holm over the family, here of one pair, and the call); returns the share called
    better or worse (a sound rule stays at or below ``alpha``) and the share called equivalent."""
    rng = np.random.default_rng([int(seed), n_models, n_examples])
    calls = []
    for k in range(repetitions):
        arrays = aa_arrays(rng, n_models, n_examples, between=between, within=within)
        res = _pair_test(arrays, _stream(seed, "aa", k), n_boot)
        calls.append(_call(res["diff_lo"], res["diff_hi"], float(holm([res["pvalue"]])[0]), rope, alpha))
    calls = np.asarray(calls)
    return {"n_models": n_models, "n_examples": n_examples, "repetitions": repetitions, "between_sd": between,
            "within_sd": within, "called_different": float(np.isin(calls, [BETTER, WORSE]).mean()),
            "called_equivalent": float((calls == EQUIVALENT).mean()),
            "called_undecided": float((calls == UNDECIDED).mean()), "alpha": alpha}


def leaderboard(rows: pd.DataFrame, *, n_boot: int = BOOTSTRAP, seed: int = 0, rope: float = ROPE,
                alpha: float = ALPHA, headline: Mapping[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every table of the leaderboard from the gathered per-example rows: ``cells`` (the headline
    operator of each experiment, with within-experiment ranks), ``operator_cells`` (every operator),
    ``tests`` (every operator), ``mean_ranks``, ``verdicts`` (BayesGrad, headline), ``friedman``,
    ``posthoc``, ``cd_ranks``, ``agreement`` (Kendall tau), ``consensus`` and ``random_last``;
    ``draws`` holds the bootstrap draws."""
    heads = headline_operators(rows, headline)
    all_cells, draws = bootstrap_cells(rows, n_boot=n_boot, seed=seed)
    tests = pairwise_tests(rows, rope=rope, alpha=alpha, n_boot=n_boot, seed=seed)
    all_cells = all_cells.merge(within_experiment_ranks(all_cells, tests), on=["experiment", "operator", "method"],
                                how="left")
    is_head = np.array([heads.get(e) == o for e, o in zip(all_cells["experiment"], all_cells["operator"])], bool)
    all_cells["headline"] = is_head
    cells = all_cells[is_head].drop(columns="headline").reset_index(drop=True)
    across = friedman_test(cells, alpha=alpha)
    agreement = metric_agreement(rows)
    return {"cells": cells, "operator_cells": all_cells, "tests": tests, "mean_ranks": mean_ranks(draws, cells),
            "verdicts": verdicts(tests, cells, rope=rope), "friedman": across["friedman"],
            "posthoc": across["posthoc"], "cd_ranks": across["ranks"], "agreement": agreement,
            "consensus": consensus(agreement, heads), "random_last": random_last(cells, draws, rope=rope),
            "draws": draws}
