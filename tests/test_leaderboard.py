"""The leaderboard's statistics on data whose answer is known: the pool-independent normalisation,
bootstrap intervals, the model-level pairwise calls (better / worse / equivalent / undecided) and the
ranks they make, the BayesGrad verdicts, the headline operator, and the suite that feeds it (sanity
check, uncertainty, methods that do not apply)."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xairepro.evaluation.leaderboard import (bootstrap_cells, headline_operators, holm, leaderboard, main_models,
                                             normalised, pairwise_tests, point_scores, verdicts,
                                             within_experiment_ranks)

from conftest import TOY_METHOD

UPPER = 3.0  # the searched best order's AOPC above each example's base (above every synthetic method)


def synthetic(effects, n=60, reps=1, noise=0.3, seed=0, experiment="e", model="m", modality="image",
              operators=("baseline",), between=0.0):
    """Per-example rows: each example has a base AOPC; a method adds its effect, a per-model offset (sd
    ``between``) and example noise; the random order is the base and the searched bound base + UPPER."""
    rng = np.random.default_rng(seed)
    rows = []
    for op in operators:
        for r in range(reps):
            offsets = {m: rng.normal(0, between) for m in effects}
            for e in range(n):
                base = rng.normal()
                for method, eff in effects.items():
                    d = base + eff + (0.0 if method == "random" else offsets[method] + rng.normal(0, noise))
                    rows.append(dict(experiment=experiment, modality=modality, unit="u", model=model, replicate=r,
                                     operator=op, method=method, example=e, deletion_aopc=d, insertion_auc=0.0,
                                     lerf_aopc=-d, srg=-2 * d, upper_aopc=base + UPPER))
    return pd.DataFrame(rows)


def test_holm_matches_the_step_down_definition():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2])
    assert np.isnan(holm([np.nan, 0.01])[0]) and holm([np.nan, 0.01])[1] == pytest.approx(0.01)
    assert holm([0.6, 0.6])[0] == 1.0  # capped at 1


def test_score_is_zero_for_random_and_one_for_the_searched_bound():
    rows = synthetic({"random": 0.0, "a": 1.0, "b": 1.5}, noise=1.0)
    bound = rows[rows["method"] == "random"].assign(method="bound", deletion_aopc=lambda d: d["upper_aopc"])
    norm = normalised(pd.concat([rows, bound], ignore_index=True))
    means = norm.groupby("method")["score"].mean()
    assert means["random"] == pytest.approx(0.0, abs=1e-12) and means["bound"] == pytest.approx(1.0)
    wide = rows.pivot_table(index="example", columns="method", values="deletion_aopc")
    upper = rows.groupby("example")["upper_aopc"].first()
    assert means["b"] == pytest.approx((wide["b"].mean() - wide["random"].mean()) / (upper - wide["random"]).mean())
    # an affine change of the metric's scale (bound included) leaves the score unchanged
    scaled = normalised(rows.assign(deletion_aopc=rows["deletion_aopc"] * 7 + 3, upper_aopc=rows["upper_aopc"] * 7 + 3))
    np.testing.assert_allclose(scaled["score"], normalised(rows)["score"])
    # LeRF is sign-flipped (lower is more faithful), on the same denominator
    lerf = normalised(rows, "lerf_aopc").groupby("method")["score"].mean()
    assert lerf["b"] == pytest.approx(means["b"])


def test_scores_do_not_move_when_a_method_joins_or_leaves_the_board():
    """Register a toy method's rows and drop shapley_sampling's: every other cell (score and interval),
    over two experiments, three replicates and two operators, is identical to the last digit."""
    effects = {"random": 0.0, "vanilla_grad": 1.0, "smoothgrad": 1.2, "shapley_sampling": 2.5, "occlusion": 0.4}
    rows = pd.concat([synthetic(effects, n=30, reps=3, operators=("baseline", "blur")),
                      synthetic(effects, n=25, reps=1, seed=4, experiment="f")], ignore_index=True)
    # the toy method is best on every example (it reaches the searched bound): under a normalisation by
    # the best evaluated order it would move every other score
    toy = rows[rows["method"] == "random"].assign(method=TOY_METHOD, deletion_aopc=lambda d: d["upper_aopc"])
    changed = pd.concat([rows[rows["method"] != "shapley_sampling"], toy], ignore_index=True)
    before, _ = bootstrap_cells(rows, n_boot=200, seed=3)
    after, _ = bootstrap_cells(changed, n_boot=200, seed=3)
    key = ["experiment", "operator", "method"]
    both = before.merge(after, on=key, suffixes=("", "_after"))
    assert len(both) == len(before) - 3 and set(both["method"]) == set(effects) - {"shapley_sampling"}
    for col in ("score", "score_lo", "score_hi"):
        assert (both[col] == both[col + "_after"]).all(), col
    p_before, p_after = point_scores(rows), point_scores(changed)
    m = p_before.merge(p_after, on=["experiment", "operator", "model", "method"])
    assert len(m) == len(p_before) - 3 and (m["score_x"] == m["score_y"]).all()
    assert after.set_index(key).loc[("e", "baseline", TOY_METHOD), "score"] == pytest.approx(1.0)


def test_bad_rows_are_refused_with_the_column_or_the_example():
    rows = synthetic({"random": 0.0, "a": 1.0}, n=5)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['operator', 'upper_aopc'\]"):
        normalised(rows.drop(columns=["operator", "upper_aopc"]))
    bad = rows.copy()
    bad.loc[(bad["method"] == "a") & (bad["example"] == 3), "upper_aopc"] += 0.5
    with pytest.raises(ValueError, match="upper_aopc differs.*operator=baseline, example=3 "):
        normalised(bad)


def test_intervals_cover_the_mean_and_shrink_with_more_examples():
    small, _ = bootstrap_cells(synthetic({"random": 0, "a": 1, "b": 1.1}, n=20), n_boot=300)
    large, _ = bootstrap_cells(synthetic({"random": 0, "a": 1, "b": 1.1}, n=400), n_boot=300)
    for cells in (small, large):
        assert ((cells["score_lo"] <= cells["score"] + 1e-12) & (cells["score"] <= cells["score_hi"] + 1e-12)).all()
    width = lambda c: (c.set_index("method")["score_hi"] - c.set_index("method")["score_lo"])["a"]
    assert width(large) < width(small) / 2


def test_replicates_are_resampled_too():
    """Three replicates whose method effects disagree make a wider interval than one replicate's."""
    parts = [synthetic({"random": 0, "a": eff, "b": 1.0}, n=50, seed=s).assign(replicate=s)
             for s, eff in enumerate([0.2, 1.0, 1.8])]
    cells, _ = bootstrap_cells(pd.concat(parts, ignore_index=True), n_boot=300)
    one, _ = bootstrap_cells(parts[1], n_boot=300)
    w = lambda c: float((c.set_index("method")["score_hi"] - c.set_index("method")["score_lo"])["a"])
    assert w(cells) > 2 * w(one)
    assert int(cells.set_index("method").loc["a", "n_replicates"]) == 3
    # the point value is the mean of the replicates' mean scores
    per_rep = normalised(pd.concat(parts, ignore_index=True)).query("method == 'a'").groupby("replicate")["score"].mean()
    assert cells.set_index("method").loc["a", "score"] == pytest.approx(per_rep.mean())


def _calls(tests):
    return {(r.method_a, r.method_b): r.call for r in tests.itertuples()}


def test_a_method_better_on_every_model_by_a_margin_is_called_better_and_ranks_first():
    rows = synthetic({"random": 0.0, "a": 1.5, "b": 1.0}, n=30, reps=10, noise=0.3, between=0.05)
    tests = pairwise_tests(rows, n_boot=300)
    calls = _calls(tests)
    assert calls[("a", "b")] == "better" and calls[("a", "random")] == "better" and calls[("b", "random")] == "better"
    t = tests.set_index(["method_a", "method_b"]).loc[("a", "b")]
    assert t["unit"] == "model" and t["n"] == 10 and t["diff_lo"] > 0 and t["p_holm"] < 0.05
    cells, _ = bootstrap_cells(rows, n_boot=100)
    ranks = within_experiment_ranks(cells, tests).set_index("method")["rank"]
    assert ranks.to_dict() == {"random": 3, "a": 1, "b": 2}
    # the reverse order of the pair is a "worse" call
    swapped = rows.replace({"method": {"a": "z"}})
    assert _calls(pairwise_tests(swapped, n_boot=300))[("b", "z")] == "worse"


def test_identical_methods_are_equivalent_and_a_small_difference_is_not_better():
    rows = synthetic({"random": 0.0, "a": 1.0}, n=60, reps=10, noise=0.3)
    twin = rows[rows["method"] == "a"].assign(method="a_twin")
    twin["deletion_aopc"] += np.where(np.arange(len(twin)) % 2 == 0, 0.01, -0.01)
    tests = pairwise_tests(pd.concat([rows, twin], ignore_index=True), n_boot=300)
    t = tests.set_index(["method_a", "method_b"]).loc[("a", "a_twin")]
    assert t["call"] == "equivalent" and -0.05 <= t["diff_lo"] and t["diff_hi"] <= 0.05
    # with a region of practical equivalence of 0 the same pair can only be undecided (no true difference)
    strict = pairwise_tests(pd.concat([rows, twin], ignore_index=True), n_boot=300, rope=0.0)
    assert strict.set_index(["method_a", "method_b"]).loc[("a", "a_twin"), "call"] == "undecided"


def test_three_models_are_paired_by_the_t_test_and_one_model_is_a_claim_about_that_model():
    """bayesgrad beats smoothgrad on every example of every model: over 3 models the pairs are the
    models' means and the test is the paired t-test (the signed-rank test's smallest p, 0.25, could never
    reject); one model's examples decide for that model only."""
    from scipy.stats import ttest_1samp

    rows = synthetic({"random": 0.0, "bayesgrad": 1.5, "smoothgrad": 1.0}, n=50, reps=3, noise=0.05,
                     experiment="toy", modality="table")
    tests = pairwise_tests(rows, n_boot=200)
    t = tests.set_index(["method_a", "method_b"]).loc[("bayesgrad", "smoothgrad")]
    norm = normalised(rows).pivot_table(index=["replicate", "example"], columns="method", values="score")
    per_model = (norm["bayesgrad"] - norm["smoothgrad"]).groupby(level="replicate").mean()
    assert t["unit"] == "model" and t["test"] == "t" and t["n"] == 3 and t["diff_lo"] > 0
    assert t["pvalue"] == pytest.approx(ttest_1samp(per_model, 0.0).pvalue) and t["call"] == "better"
    cells, _ = bootstrap_cells(rows, n_boot=100)
    v = verdicts(tests, cells, against=("smoothgrad",)).iloc[0]
    assert v["call"] == "better" and v["test_n"] == 3 and "over 3 models" in v["verdict"]
    one = rows[rows["replicate"] == 0]
    t1 = pairwise_tests(one, n_boot=200).set_index(["method_a", "method_b"]).loc[("bayesgrad", "smoothgrad")]
    assert t1["call"] == "better" and t1["unit"] == "example" and t1["n"] == 50
    assert "one model (m, replicate 0)" in t1["scope"] and "this trained model only" in t1["scope"]
    v1 = verdicts(pairwise_tests(one, n_boot=200), bootstrap_cells(one, n_boot=50)[0], against=("smoothgrad",)).iloc[0]
    assert v1["call"] == "better" and "more faithful than smoothgrad" in v1["verdict"]
    assert "over 50 examples of one model" in v1["verdict"] and "this trained model only" in v1["verdict"]


def test_main_model_is_the_one_with_most_methods_and_dropout_only_methods_use_their_variant():
    clf = synthetic({"random": 0, "vanilla_grad": 1, "smoothgrad": 1.2, "occlusion": 0.8}, model="classifier")
    drop = synthetic({"random": 0, "vanilla_grad": 1, "bayesgrad": 1.5}, model="dropout", seed=1)
    rows = pd.concat([clf, drop], ignore_index=True)
    main = main_models(rows)
    assert main[("e", "vanilla_grad")] == "classifier" and main[("e", "bayesgrad")] == "dropout"
    out = leaderboard(rows, n_boot=100)
    cells = out["cells"].set_index("method")
    assert cells.loc["bayesgrad", "model"] == "dropout" and cells.loc["smoothgrad", "model"] == "classifier"
    v = out["verdicts"].set_index("versus")
    assert v.loc["vanilla_grad", "diff"] > 0 and "more faithful than vanilla_grad" in v.loc["vanilla_grad", "verdict"]
    assert "dropout vs classifier" in v.loc["vanilla_grad", "verdict"]
    # the paired difference across the two models: each method normalised on its own model's rows
    s = point_scores(rows).set_index("method")["score"]
    assert v.loc["vanilla_grad", "diff"] == pytest.approx(s["bayesgrad"] - s["vanilla_grad"])


def test_verdicts_compare_with_the_noise_methods_present_and_say_which_are_absent():
    one = synthetic({"random": 0, "vanilla_grad": 1, "bayesgrad": 2, "smoothgrad": 1.5, "noisegrad": 2.0},
                    experiment="x")
    two = synthetic({"random": 0, "vanilla_grad": 2, "smoothgrad": 1}, experiment="y", seed=3)
    out = leaderboard(pd.concat([one, two], ignore_index=True), n_boot=100)
    v = out["verdicts"].set_index(["experiment", "versus"])
    assert set(v.loc["x"].index) == {"vanilla_grad", "smoothgrad", "noisegrad", "fusiongrad", "vargrad"}
    assert v.loc[("x", "noisegrad"), "call"] in {"equivalent", "undecided"}   # no true difference
    assert v.loc[("x", "vanilla_grad"), "call"] == "better"                    # one model: about that model
    assert v.loc[("x", "fusiongrad"), "verdict"] == "no comparison: fusiongrad was not measured on x"
    assert (v.loc["y", "call"] == "no comparison").all()
    assert v.loc[("y", "smoothgrad"), "verdict"] == "no comparison: bayesgrad was not measured on y"
    ranks = out["mean_ranks"].set_index("method")
    assert ranks.loc["bayesgrad", "n_experiments"] == 1 and ranks.loc["vanilla_grad", "n_experiments"] == 2
    assert (ranks["mean_rank_lo"] <= ranks["mean_rank"]).all() and (ranks["mean_rank"] <= ranks["mean_rank_hi"]).all()


def test_headline_operator_selects_the_cells_and_an_unknown_one_is_refused():
    base = synthetic({"random": 0, "a": 2.0, "b": 1.0}, operators=("baseline",))
    blur = synthetic({"random": 0, "a": 1.0, "b": 2.0}, operators=("blur",), seed=5)
    rows = pd.concat([base, blur], ignore_index=True)
    assert headline_operators(rows) == {"e": "baseline"}
    out = leaderboard(rows, n_boot=50, headline={"e": "blur"})
    assert set(out["cells"]["operator"]) == {"blur"} and set(out["operator_cells"]["operator"]) == {"baseline", "blur"}
    s = out["cells"].set_index("method")["score"]
    assert s["b"] > s["a"]
    assert set(out["tests"]["operator"]) == {"baseline", "blur"} and set(out["verdicts"]["operator"]) == {"blur"}
    with pytest.raises(ValueError, match="leaderboard.headline_operator: experiment 'e' has no rows of operator 'road'"):
        leaderboard(rows, n_boot=10, headline={"e": "road"})


def test_suite_runs_every_method_checks_sanity_and_uncertainty_and_names_what_did_not_apply():
    from xairepro.evaluation.units import FeatureUnit
    from xairepro.experiments.explainer import Explainer
    from xairepro.experiments.suite import FaithfulnessSpec, faithfulness_suite

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))
    x = torch.randn(24, 5)
    names = ["vanilla_grad", "input_x_gradient", "bayesgrad", "integrated_gradients", "occlusion",
             "explanation_mask", "random", TOY_METHOD]
    explainer = Explainer(model, names, settings={"max_batch": 256}, method_options={"random": {"M": 3}}, M=6)
    labels = dict(experiment="toy", modality="table", unit="feature", model="mlp", replicate=0)
    res = faithfulness_suite(explainer, x, FaithfulnessSpec(FeatureUnit(0.0), np.linspace(0, 1, 6)), labels=labels)
    assert set(res.per_example["method"]) == set(names) - {"explanation_mask"}
    assert list(res.skipped["method"]) == ["explanation_mask"] and "no explanation mask" in res.skipped["reason"][0]
    rho = res.sanity[res.sanity["randomisation"] == "all layers"].groupby("method")["spearman"].mean()
    assert rho["random"] == pytest.approx(1.0)   # the random order ignores the model: it must fail
    assert rho["integrated_gradients"] < 0.5      # the gradient of a re-initialised network changes
    assert set(res.uncertainty["method"]) == {"bayesgrad"}  # the only sampled method here
    aopc = res.per_example.groupby("method")["deletion_aopc"].mean()
    assert aopc[TOY_METHOD] < aopc["random"] < aopc["input_x_gradient"]
    assert (res.cost["seconds"] >= 0).all() and set(res.cost["method"]) == set(res.per_example["method"])


def test_display_cell_carries_interval_rank_sanity_and_seconds_or_the_reason():
    from xairepro.report.leaderboard import display_table

    cells = pd.DataFrame([{"experiment": "esol", "model": "nfp", "method": "bayesgrad", "score": 0.5, "score_lo": 0.25,
                           "score_hi": 0.75, "rank": 2, "sanity": "fail", "seconds": 1.25}])
    skipped = pd.DataFrame([{"experiment": "esol", "model": "nfp", "method": "shapley_sampling",
                             "reason": "needs input features"}])
    rows = pd.DataFrame({"experiment": ["esol"], "method": ["bayesgrad"]})
    table = display_table(cells, skipped, rows).set_index("method")
    assert table.loc["bayesgrad", "esol"] == "0.50 [0.25, 0.75] #2 ✗ (1.25 s)"
    assert table.loc["shapley_sampling", "esol"] == "n/a: needs input features"


def test_summary_of_several_models_is_model_level():
    from xairepro.evaluation.faithfulness import faithfulness_summary

    from scipy.stats import ttest_rel

    rows = synthetic({"random": 0.0, "bayesgrad": 0.5, "smoothgrad": 0.3}, n=50, reps=3, noise=0.3)
    summary = faithfulness_summary(rows[rows["operator"] == "baseline"]).set_index("method")
    assert (summary["test_unit"] == "model").all()
    means = rows.pivot_table(index="replicate", columns="method", values="deletion_aopc")  # the models' means
    assert summary.loc["smoothgrad", "p_vs_best"] == pytest.approx(ttest_rel(means["smoothgrad"], means["bayesgrad"]).pvalue)


def test_assemble_returns_every_table_the_rule_writes_with_the_checks_wired_in():
    import ast
    import re
    from pathlib import Path

    from xairepro.report.leaderboard import TABLES, assemble

    rows = synthetic({"random": 0.0, "vanilla_grad": 1.0, "bayesgrad": 1.4}, n=20, reps=2, operators=("baseline", "blur"))
    sanity = pd.DataFrame([dict(experiment="e", model="m", replicate=0, method=m, randomisation="all layers", layers=2,
                                example=0, spearman=rho) for m, rho in (("vanilla_grad", 0.1), ("bayesgrad", 0.99),
                                                                        ("random", 1.0))])
    bounds = pd.DataFrame({"experiment": "e", "operator": "baseline", "example": range(4), "covered": [1, 1, 1, 0],
                           "search": "beam", "n_forward": 10, "seconds": 0.5})
    empty = pd.DataFrame()
    out = assemble({"per_example": rows, "skipped": empty, "sanity": sanity, "uncertainty": empty, "cost": empty,
                    "bounds": bounds}, n_boot=20, aa=False, headline={"e": "blur"})
    assert set(TABLES) <= set(out)
    smk = Path(__file__).resolve().parents[1] / "rules" / "leaderboard.smk"
    listed = ast.literal_eval(re.search(r"LEADERBOARD_TABLES = (\(.*?\))", smk.read_text(), re.S).group(1))
    assert list(listed) == ["rows", *TABLES]
    assert set(out["cells"]["operator"]) == {"blur"} and len(out["operator_cells"]) == 6
    assert out["coverage"].iloc[0]["covered_share"] == 0.75
    assert out["randomisation"].set_index("method")["ok"].to_dict() == {"random": True, "vanilla_grad": True,
                                                                       "bayesgrad": False}


def test_heatmap_cell_text_is_at_least_12_px_high_on_the_report_page():
    """The report's page is 1,280 px wide (body padding aside, 1,248 px for an image); the notebook saves
    the heatmap at 130 dpi. Seven experiments x ten methods: the cell text, as the page shows it, is at
    least 12 px high (it was about 6 px before), and dark cells get white text."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from xairepro.viz.leaderboard import leaderboard_heatmap

    cells = pd.DataFrame([{"experiment": f"experiment_{j}", "method": f"method_{i}", "score": -0.5 + 0.15 * i,
                           "score_lo": -1.25, "score_hi": 1.0, "rank": 10, "sanity": "fail"}
                          for i in range(10) for j in range(7)])
    ax = leaderboard_heatmap(cells)
    width_px = ax.figure.get_figwidth() * 130
    shown = min(1.0, 1248 / width_px)
    sizes = [t.get_fontsize() * 130 / 72 * shown for t in ax.texts]
    assert len(sizes) == 70 and min(sizes) >= 12, (width_px, min(sizes))
    colours = {t.get_text().split()[0]: t.get_color() for t in ax.texts}
    assert colours["-0.50"] == "white" and colours["0.25"] == "black"
    plt.close(ax.figure)


def test_cell_seconds_count_each_models_explanation_once_and_each_operators_curves():
    """Every operator's cost row repeats the method's explanation seconds (one explanation, several
    removals): a cell sums them once per trained model, and its curve seconds are its operator's."""
    from xairepro.report.leaderboard import assemble

    rows = synthetic({"random": 0.0, "vanilla_grad": 1.0}, n=10, reps=2, operators=("baseline", "blur"))
    cost = pd.DataFrame([dict(experiment="e", model="m", replicate=r, method=m, operator=op, seconds=2.0 + r,
                              curve_seconds=0.5 if op == "baseline" else 0.25)
                         for r in (0, 1) for m in ("random", "vanilla_grad") for op in ("baseline", "blur")])
    empty = pd.DataFrame()
    cells = assemble({"per_example": rows, "skipped": empty, "sanity": empty, "uncertainty": empty, "cost": cost},
                     n_boot=10, aa=False, headline={"e": "blur"})["cells"].set_index("method")
    assert cells.loc["vanilla_grad", "seconds"] == pytest.approx(2.0 + 3.0)        # not doubled by the operators
    assert cells.loc["vanilla_grad", "curve_seconds"] == pytest.approx(0.25 + 0.25)  # the headline operator's
