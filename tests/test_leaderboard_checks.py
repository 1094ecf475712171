"""Checks of the leaderboard's checks, on data whose answer is known: the A/A false-call rate of the
leaderboard's own pairwise calls, the random order last in the bootstrap draws, the Friedman test and
its post-hoc comparisons against scipy, Kendall-tau metric agreement, and the bound's coverage."""
import numpy as np
import pandas as pd
import pytest
from scipy.stats import friedmanchisquare, kendalltau, ttest_1samp, wilcoxon
from statsmodels.stats.multitest import multipletests

from xairepro.evaluation.leaderboard import (AA_SD, aa_arrays, aa_check, aa_rows, bootstrap_cells, bound_coverage, consensus,
                                             friedman_test, metric_agreement, pairwise_tests, point_scores,
                                             random_last)

from test_leaderboard import UPPER, synthetic


@pytest.mark.parametrize("n_models, n_examples", [(3, 40), pytest.param(30, 91, marks=pytest.mark.slow)])
def test_aa_comparison_is_called_different_in_at_most_5_percent(n_models, n_examples):
    """A method against itself with another seed (model-level spread 0.179, example noise 0.391 of the
    normalised difference, as measured on the quick Tox21 rows), 200 repetitions through the
    leaderboard's own pairwise calls: at most 5% better/worse calls. The pooled test this replaces
    (examples of all models as independent pairs) calls a difference in far more of the same data."""
    res = aa_check(n_models, n_examples, repetitions=200, seed=0)
    assert res["repetitions"] == 200 and res["between_sd"] == AA_SD[0] and res["within_sd"] == AA_SD[1]
    assert res["called_different"] <= 0.05, res
    rng = np.random.default_rng([0, n_models, n_examples])
    pooled = []
    for _ in range(200):
        d = np.concatenate([xb - xa for xa, _, _, xb, _, _ in aa_arrays(rng, n_models, n_examples).values()])
        pooled.append(wilcoxon(d).pvalue < 0.05)
    assert np.mean(pooled) > 0.3, np.mean(pooled)


def test_aa_rows_have_the_declared_noise_and_a_unit_denominator_and_pairwise_tests_decide_them_alike():
    rows = aa_rows(aa_arrays(np.random.default_rng(1), 400, 50, between=0.2, within=0.4))
    wide = rows.pivot_table(index=["replicate", "example"], columns="method", values="deletion_aopc")
    d = wide["method_again"] - wide["method"]
    per_model = d.groupby(level=0).mean()
    assert per_model.std() == pytest.approx(np.sqrt(0.2 ** 2 + 0.4 ** 2 / 50), rel=0.1)
    assert (d - d.groupby(level=0).transform("mean")).std() == pytest.approx(0.4, rel=0.05)
    assert (rows["upper_aopc"] - wide["random"].reindex(list(zip(rows["replicate"], rows["example"]))).to_numpy()
            ).to_numpy() == pytest.approx(1.0)
    # a real difference of 0.3 on every model is found at 30 models: the check can fail the other way
    shifted = rows[rows["replicate"] < 30].copy()
    shifted.loc[shifted["method"] == "method_again", "deletion_aopc"] += 0.3
    t = pairwise_tests(shifted, n_boot=200).set_index(["method_a", "method_b"]).loc[("method", "method_again")]
    assert t["call"] == "worse"
    # the A/A check decides a repetition as pairwise_tests decides the same rows
    arrays = aa_arrays(np.random.default_rng(5), 8, 20)
    t = pairwise_tests(aa_rows(arrays), n_boot=100).set_index(["method_a", "method_b"]).loc[("method", "method_again")]
    d = np.array([(xa - xb).mean() for xa, _, _, xb, _, _ in arrays.values()])
    assert t["unit"] == "model" and t["n"] == 8 and t["mean_diff"] == pytest.approx(d.mean())
    assert t["pvalue"] == pytest.approx(wilcoxon(d).pvalue)


def _aa_rows(rng, n_models, n_examples, between=0.179, within=0.391):
    """Per-example rows of two methods with NO true difference: a model-level offset shared by all
    examples of a model (sd ``between``) plus example noise (sd ``within``), as measured on the quick
    Tox21 rows of the normalised difference."""
    rows = []
    for m in range(n_models):
        offset = rng.normal(0, between)
        for e in range(n_examples):
            rows.append({"replicate": m, "example": e, "a": offset + rng.normal(0, within), "b": 0.0})
    return pd.DataFrame(rows).set_index(["replicate", "example"])


def test_model_level_test_pairs_model_means_and_keeps_its_false_positive_rate():
    """A/A: two methods that do not differ, 200 simulated repetitions of 10 models x 40 examples. The
    test over the models' means calls a difference in at most ~5% of them; the same rows tested as 400
    independent pairs (the pooled test this replaces) call one in far more, so the check can fail."""
    from xairepro.evaluation.stats import model_level_test, paired_wilcoxon

    rng = np.random.default_rng(0)
    model_level, pooled = [], []
    for _ in range(200):
        wide = _aa_rows(rng, 10, 40)
        res = model_level_test(wide, "a", "b")
        assert res["unit"] == "model" and res["test"] == "wilcoxon" and res["n"] == 10 and res["n_examples"] == 400
        model_level.append(res["pvalue"] < 0.05)
        pooled.append(paired_wilcoxon(wide["a"].to_numpy(), wide["b"].to_numpy())["pvalue"] < 0.05)
    assert np.mean(model_level) <= 0.075, np.mean(model_level)
    assert np.mean(pooled) > 0.3, np.mean(pooled)
    # one model: its examples are the pairs (a claim about that model only)
    one = _aa_rows(np.random.default_rng(1), 1, 30)
    res = model_level_test(one, "a", "b")
    assert res["unit"] == "example" and res["test"] == "wilcoxon" and res["n"] == 30 and res["n_models"] == 1
    # the pairs are the models' means: 3 models are paired by the t-test (a signed-rank test's smallest p
    # would be 0.25), so a large, consistent difference can be told from 3 models
    three = _aa_rows(np.random.default_rng(2), 3, 500, between=0.0, within=0.01).assign(a=lambda t: t["a"] + 1.0)
    res = model_level_test(three, "a", "b")
    means = three.groupby(level="replicate").mean()
    assert res["n"] == 3 and res["test"] == "t" and res["mean_diff"] == pytest.approx(1.0, abs=0.01)
    assert res["pvalue"] == pytest.approx(ttest_1samp(means["a"] - means["b"], 0.0).pvalue) and res["pvalue"] < 1e-4


def test_three_models_carry_a_call_where_the_difference_is_large_against_its_spread_over_models():
    """With 3 trained models a better/worse call needs the t-test's model-level p below Holm's threshold
    and the interval to exclude 0; a difference as large but inconsistent over the models stays undecided."""
    consistent = synthetic({"random": 0.0, "a": 1.0, "b": 0.4}, n=40, reps=3, noise=0.05)
    t = pairwise_tests(consistent, n_boot=300).set_index(["method_a", "method_b"])
    assert (t["test"] == "t").all() and (t["n"] == 3).all()
    assert t.loc[("a", "b"), "call"] == "better" and t.loc[("b", "random"), "call"] == "better"
    # b beats a by as much on one of the 3 models: undecided, however many examples each model has
    parts = [synthetic(effects, n=200, noise=0.05, seed=k).assign(replicate=k)
             for k, effects in enumerate([{"random": 0.0, "a": 1.0, "b": 0.4}] * 2 + [{"random": 0.0, "a": 0.4, "b": 1.0}])]
    t = pairwise_tests(pd.concat(parts, ignore_index=True), n_boot=300).set_index(["method_a", "method_b"])
    assert t.loc[("a", "b"), "mean_diff"] == pytest.approx(0.2 / UPPER, abs=0.01) and t.loc[("a", "b"), "pvalue"] > 0.5
    assert t.loc[("a", "b"), "call"] == "undecided", t.loc[("a", "b")]




def test_random_is_last_where_methods_beat_it_and_the_check_fails_when_one_is_worse():
    good = synthetic({"random": 0.0, "a": 1.0, "b": 0.6}, n=40, reps=3, experiment="good")
    bad = synthetic({"random": 0.0, "a": 1.0, "worse_than_random": -0.8}, n=40, reps=3, experiment="bad", seed=1)
    none = synthetic({"random": 0.0, "a": -0.02}, n=40, reps=3, noise=1.0, experiment="none", seed=2)
    rows = pd.concat([good, bad, none], ignore_index=True)
    cells, draws = bootstrap_cells(rows, n_boot=300)
    out = random_last(cells, draws).set_index("experiment")
    assert out.loc["good", "random_last_share"] == 1.0 and out.loc["good", "passes"] is True
    assert out.loc["bad", "random_last_share"] == 0.0 and out.loc["bad", "passes"] is False
    assert out.loc["bad", "below_random"] == "worse_than_random" and out.loc["good", "below_random"] == ""
    assert not out.loc["none", "applies"] and np.isnan(out.loc["none", "passes"])
    assert (out["n_draws"] == 300).all()
    # a method within the region of practical equivalence below random is a tie, not a failure
    near = synthetic({"random": 0.0, "a": 1.0, "b": -0.05}, n=40, reps=3, noise=0.01, experiment="near")
    c, d = bootstrap_cells(near, n_boot=200)
    assert random_last(c, d, rope=0.05).iloc[0]["random_last_share"] > 0.95
    assert random_last(c, d, rope=0.0).iloc[0]["random_last_share"] == 0.0


def test_friedman_and_wilcoxon_holm_posthoc_match_scipy_and_statsmodels():
    effects = {"random": 0.0, "a": 2.0, "b": 1.0, "c": 1.3}
    parts = [synthetic({m: e + 0.1 * k * (m == "c") for m, e in effects.items()}, n=20, experiment=f"x{k}", seed=k)
             for k in range(6)]
    parts.append(synthetic({**effects, "only_here": 0.5}, n=20, experiment="x6", seed=9))
    cells, _ = bootstrap_cells(pd.concat(parts, ignore_index=True), n_boot=20)
    out = friedman_test(cells)
    f = out["friedman"].iloc[0]
    assert f["excluded"] == "only_here" and f["n_experiments"] == 7 and f["n_methods"] == 4
    wide = cells.pivot_table(index="experiment", columns="method", values="score")
    ref = friedmanchisquare(*[wide[m] for m in ["a", "b", "c", "random"]])
    assert f["statistic"] == pytest.approx(ref.statistic) and f["pvalue"] == pytest.approx(ref.pvalue)
    post = out["posthoc"].set_index(["method_a", "method_b"])
    raw = [wilcoxon(wide[a], wide[b]).pvalue for a, b in post.index]
    np.testing.assert_allclose(post["p_holm"], multipletests(raw, method="holm")[1])
    # a is best in every experiment, random last: mean ranks 1 and 4; c (1.3 to 1.8) above b (1.0)
    ranks = out["ranks"].set_index("method")["mean_rank"]
    assert ranks["a"] == 1.0 and ranks["random"] == 4.0 and ranks["c"] < ranks["b"]
    assert post.loc[("a", "random"), "p_holm"] == pytest.approx(min(1.0, 6 * 2 / 2 ** 7))


def test_metric_agreement_is_kendall_tau_of_the_rankings_and_names_the_consensus_operator():
    base = synthetic({"random": 0.0, "a": 2.0, "b": 1.0, "c": 0.5, "d": 1.5}, n=30, operators=("baseline",))
    blur = synthetic({"random": 0.0, "a": 0.5, "b": 1.0, "c": 2.0, "d": 1.5}, n=30, operators=("blur",), seed=3)
    road = synthetic({"random": 0.0, "a": 1.0, "b": 0.5, "c": 2.0, "d": 1.5}, n=30, operators=("road",), seed=4)
    rows = pd.concat([base, blur, road], ignore_index=True)
    agree = metric_agreement(rows)
    assert len(agree) == 9 * 8 // 2 and (agree["n_methods"] == 4).all()   # 3 operators x 3 metrics, pairs
    t = agree.set_index(["a", "b"])["tau"]
    # synthetic LeRF = -MoRF (sign-flipped: the same ranking) and SRG = -2 MoRF (the reverse)
    assert t[("baseline/MoRF", "baseline/LeRF")] == pytest.approx(1.0)
    assert t[("baseline/MoRF", "baseline/SRG")] == pytest.approx(-1.0)
    s = point_scores(rows).pivot_table(index="method", columns="operator", values="score").drop("random")
    assert t[("baseline/MoRF", "blur/MoRF")] == pytest.approx(kendalltau(s["baseline"], s["blur"]).statistic)
    assert t[("baseline/MoRF", "blur/MoRF")] == pytest.approx(-4 / 6)   # 1 concordant, 5 discordant pairs
    cons = consensus(agree, {"e": "blur"}).set_index("ranking")
    assert cons["consensus"].sum() == 1 and cons["headline"].sum() == 1 and cons.loc["blur/MoRF", "headline"]
    morf = cons.loc[[r for r in cons.index if r.endswith("/MoRF")], "mean_tau"]
    assert cons.loc[morf.idxmax(), "consensus"]


def test_bound_coverage_is_the_share_covered_per_experiment_and_operator():
    bounds = pd.DataFrame({"experiment": ["iris"] * 4 + ["esol"] * 2, "operator": ["baseline"] * 2 + ["mean"] * 2
                           + ["baseline"] * 2, "example": [0, 1, 0, 1, 0, 1],
                           "covered": [True, True, True, False, "True", "False"],
                           "search": ["exhaustive"] * 4 + ["beam", "beam"], "n_forward": [24] * 4 + [100, 120],
                           "seconds": [0.1] * 6})
    cov = bound_coverage(bounds).set_index(["experiment", "operator"])
    assert cov.loc[("iris", "baseline"), "covered_share"] == 1.0 and cov.loc[("iris", "mean"), "covered_share"] == 0.5
    assert cov.loc[("esol", "baseline"), "covered_share"] == 0.5 and cov.loc[("esol", "baseline"), "n_forward"] == 220
    assert cov.loc[("esol", "baseline"), "search"] == "beam" and list(bound_coverage(pd.DataFrame()).columns)[:4] == [
        "experiment", "operator", "n_examples", "covered_share"]
    with pytest.raises(ValueError, match=r"bounds table: missing column\(s\) \['covered'\]"):
        bound_coverage(bounds.drop(columns="covered"))
