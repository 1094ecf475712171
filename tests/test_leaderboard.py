"""The leaderboard's statistics on data whose answer is known: normalisation, bootstrap intervals,
Holm-corrected ranks with ties, mean ranks, the BayesGrad verdict, and the suite that feeds it
(sanity check, uncertainty, methods that do not apply)."""
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xairepro.evaluation.leaderboard import (bootstrap_cells, holm, leaderboard, main_models, normalised,
                                             pairwise_tests, within_experiment_ranks)

from conftest import TOY_METHOD


def synthetic(effects, n=60, reps=1, noise=0.3, seed=0, experiment="e", model="m", modality="image"):
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(reps):
        for e in range(n):
            base = rng.normal()
            for method, eff in effects.items():
                rows.append(dict(experiment=experiment, modality=modality, unit="u", model=model, replicate=r,
                                 method=method, example=e, deletion_aopc=base + eff + rng.normal(0, noise),
                                 insertion_auc=0.0))
    return pd.DataFrame(rows)


def test_holm_matches_the_step_down_definition():
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2])
    assert np.isnan(holm([np.nan, 0.01])[0]) and holm([np.nan, 0.01])[1] == pytest.approx(0.01)
    assert holm([0.6, 0.6])[0] == 1.0  # capped at 1


def test_normalised_score_is_zero_for_random_and_the_oracle_mean_is_one():
    rows = synthetic({"random": 0.0, "a": 1.0, "b": 1.5}, noise=1.0)
    norm = normalised(rows)
    means = norm.groupby("method")["score"].mean()
    assert means["random"] == pytest.approx(0.0, abs=1e-12)
    # the per-example best order is b's or a's: the oracle mean is 1, b's mean a little below it
    wide = rows.pivot_table(index="example", columns="method", values="deletion_aopc")
    denom = wide.max(axis=1).mean() - wide["random"].mean()
    assert means["b"] == pytest.approx((wide["b"].mean() - wide["random"].mean()) / denom)
    assert 0.5 < means["b"] < 0.99 and 0.2 < means["a"] < means["b"]
    # an affine change of the metric's scale leaves the score unchanged
    scaled = normalised(rows.assign(deletion_aopc=rows["deletion_aopc"] * 7 + 3))
    np.testing.assert_allclose(scaled["score"], norm["score"])


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


def test_ranks_tie_methods_no_test_separates():
    rows = synthetic({"random": 0.0, "a": 1.0, "b": 2.0}, n=80, noise=0.2)
    # a twin of a whose differences from a are exactly symmetric (+d, -d, ...): no test can separate them
    twin = rows[rows["method"] == "a"].copy()
    twin["deletion_aopc"] += np.where(np.arange(len(twin)) % 2 == 0, 0.05, -0.05)
    rows = pd.concat([rows, twin.assign(method="a_twin")], ignore_index=True)
    cells, _ = bootstrap_cells(rows, n_boot=50)
    ranks = within_experiment_ranks(cells, pairwise_tests(rows)).set_index("method")["rank"]
    assert ranks["b"] == 1
    assert ranks["a"] == ranks["a_twin"] == 2   # tied: no Holm-corrected test separates them
    assert ranks["random"] == 4


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


def test_mean_rank_across_experiments_and_the_verdict_when_bayesgrad_is_absent():
    one = synthetic({"random": 0, "vanilla_grad": 1, "bayesgrad": 2, "smoothgrad": 1.5}, experiment="x")
    two = synthetic({"random": 0, "vanilla_grad": 2, "smoothgrad": 1}, experiment="y", seed=3)
    out = leaderboard(pd.concat([one, two], ignore_index=True), n_boot=100)
    ranks = out["mean_ranks"].set_index("method")
    assert ranks.loc["bayesgrad", "mean_rank"] == 1.0 and ranks.loc["bayesgrad", "n_experiments"] == 1
    assert ranks.loc["vanilla_grad", "mean_rank"] == pytest.approx((3 + 1) / 2)
    assert (ranks["mean_rank_lo"] <= ranks["mean_rank"]).all() and (ranks["mean_rank"] <= ranks["mean_rank_hi"]).all()
    y = out["verdicts"][out["verdicts"]["experiment"] == "y"]
    assert y["verdict"].str.contains("bayesgrad was not measured on y").all()


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
    from xairepro.evaluation.stats import model_level_wilcoxon, paired_wilcoxon

    rng = np.random.default_rng(0)
    model_level, pooled = [], []
    for _ in range(200):
        wide = _aa_rows(rng, 10, 40)
        res = model_level_wilcoxon(wide, "a", "b")
        assert res["unit"] == "model" and res["n"] == 10 and res["n_examples"] == 400
        model_level.append(res["pvalue"] < 0.05)
        pooled.append(paired_wilcoxon(wide["a"].to_numpy(), wide["b"].to_numpy())["pvalue"] < 0.05)
    assert np.mean(model_level) <= 0.075, np.mean(model_level)
    assert np.mean(pooled) > 0.3, np.mean(pooled)
    # one model: its examples are the pairs (a claim about that model only)
    one = _aa_rows(np.random.default_rng(1), 1, 30)
    res = model_level_wilcoxon(one, "a", "b")
    assert res["unit"] == "example" and res["n"] == 30 and res["n_models"] == 1
    # the pairs are the models' means: 3 models give the exact test's smallest p, 0.25, however many examples
    three = _aa_rows(np.random.default_rng(2), 3, 500, between=0.0, within=0.01).assign(a=lambda t: t["a"] + 1.0)
    res = model_level_wilcoxon(three, "a", "b")
    assert res["n"] == 3 and res["pvalue"] == pytest.approx(0.25) and res["mean_diff"] == pytest.approx(1.0, abs=0.01)


def test_summary_and_leaderboard_tests_of_several_models_are_model_level():
    from xairepro.evaluation.faithfulness import faithfulness_summary
    from xairepro.evaluation.leaderboard import pairwise_tests, verdicts

    rows = []
    rng = np.random.default_rng(3)
    for rep in range(3):
        for e in range(50):
            base = rng.uniform(0, 1)
            for method, aopc in (("bayesgrad", base + 0.5), ("smoothgrad", base + 0.3), ("random", base)):
                rows.append({"experiment": "toy", "modality": "table", "unit": "feature", "model": "mlp",
                             "replicate": rep, "method": method, "example": e, "deletion_aopc": aopc,
                             "insertion_auc": aopc})
    rows = pd.DataFrame(rows)
    summary = faithfulness_summary(rows).set_index("method")
    # bayesgrad beats smoothgrad on every one of the 150 examples, but only 3 models back the claim
    assert (summary["test_unit"] == "model").all()
    assert summary.loc["smoothgrad", "p_vs_best"] == pytest.approx(0.25)
    tests = pairwise_tests(rows)
    assert set(tests["unit"]) == {"model"} and set(tests["n"]) == {3} and set(tests["n_examples"]) == {150}
    v = verdicts(rows, tests, against=("smoothgrad",), n_boot=50).iloc[0]
    assert v["test_n"] == 3 and "not distinguishable" in v["verdict"] and "over 3 models" in v["verdict"]
    # one model: the examples are the pairs, and the same difference is significant for that model
    one = rows[rows["replicate"] == 0]
    assert faithfulness_summary(one).set_index("method").loc["smoothgrad", "p_vs_best"] < 1e-6
    assert set(pairwise_tests(one)["unit"]) == {"example"}
