"""MoRF, LeRF, SRG and insertion under several removal operators, the pool-independent upper bound
(exhaustive and beam search), and the batched curves against the per-method path they replace."""
import itertools
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from xairepro.attribution import RandomOrder
from xairepro.evaluation.bounds import BoundConfig, search_bounds, unit_groups
from xairepro.evaluation.faithfulness import RowCache, faithfulness_curves, faithfulness_study, score_sets
from xairepro.evaluation.orders import removal_masks
from xairepro.evaluation.operators import bind_operator
from xairepro.evaluation.units import FeatureUnit, PixelUnit, TokenUnit
from xairepro.names import FLOOR_METHOD as RANDOM


def bound_unit(baseline, operator: str) -> FeatureUnit:
    """A feature unit under a registered operator: ``baseline`` sets a removed feature to ``baseline``,
    ``mean`` to the given mean (xairepro.evaluation.operators)."""
    if operator == "baseline":
        return FeatureUnit(baseline)
    return bind_operator(FeatureUnit(0.0), operator, {"mean": baseline})


class Linear(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, x):
        return (x * self.w).sum(1, keepdim=True)


def mlp(d: int, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(d, 16), nn.Tanh(), nn.Linear(16, 3)).eval()


# ----------------------------------------------------------------------------- the metrics by hand
def test_morf_lerf_srg_and_insertion_of_a_linear_model_by_hand_under_two_operators():
    """f(x) = 1 x1 + 2 x2 + 3 x3 + 4 x4 at x = 1: under baseline 0 removing feature i drops f by w_i;
    under the mean operator (mean = 0.5) by w_i / 2."""
    model, x = Linear([1.0, 2.0, 3.0, 4.0]), torch.ones(4)
    scores = {"true": [np.array([1.0, 2.0, 3.0, 4.0])]}
    ops = {"baseline": bound_unit(0.0, "baseline"), "mean": bound_unit(0.5, "mean")}
    study = faithfulness_study(model, [x], scores, ops["baseline"], fractions=np.linspace(0, 1, 5), operators=ops,
                               bound=BoundConfig())
    row = study.per_example.set_index("operator")
    # MoRF curve 10, 6, 3, 1, 0 -> AOPC mean(0, 4, 7, 9, 10); LeRF 10, 9, 7, 4, 0 -> mean(0, 1, 3, 6, 10)
    assert row.loc["baseline", "deletion_aopc"] == pytest.approx(6.0)
    assert row.loc["baseline", "lerf_aopc"] == pytest.approx(4.0)
    # SRG = area under LeRF - area under MoRF = mean(10,9,7,4,0) - mean(10,6,3,1,0)
    assert row.loc["baseline", "srg"] == pytest.approx(6.0 - 4.0)
    # insertion from all removed (0): 4, 7, 9, 10 -> AUC mean(0, 4, 7, 9, 10)
    assert row.loc["baseline", "insertion_auc"] == pytest.approx(6.0)
    for col in ("deletion_aopc", "lerf_aopc", "srg", "insertion_auc"):
        assert row.loc["mean", col] == pytest.approx(row.loc["baseline", col] / 2)
    # the exact contributions are the best order of a linear model: the bound equals them
    assert row.loc["baseline", "upper_aopc"] == pytest.approx(6.0)
    curves = study.curves
    lerf = curves[(curves["operator"] == "baseline") & (curves["mode"] == "lerf")]["mean"].to_numpy()
    np.testing.assert_allclose(lerf, [10, 9, 7, 4, 0])
    # the exhaustive search evaluated all 16 subsets of 4 features: the curves needed no row of their own
    assert set(study.cost["operator"]) == {"baseline", "mean"} and (study.cost["curve_rows"] == 0).all()
    assert study.bounds["n_forward"].tolist() == [16, 16] and set(study.bounds["search"]) == {"exhaustive"}


# ----------------------------------------------------------------------------- the bound
def _brute_force(model, x, unit, fractions):
    """Deletion AOPC of every one of the 24 orders of 4 features, one curve at a time."""
    best = -np.inf
    for order in itertools.permutations(range(4)):
        scores = np.empty(4)
        scores[list(order)] = [4.0, 3.0, 2.0, 1.0]  # ranks that remove in this order
        c = faithfulness_curves(model, [x], [scores], unit, fractions=fractions, targets=[1])[0]
        best = max(best, float((c[0] - c).mean()))
    return best


def test_exhaustive_bound_on_four_features_is_the_best_of_the_24_orders_and_covers_every_method():
    model = mlp(4)
    torch.manual_seed(1)
    x = torch.randn(6, 4)
    mean = x.mean(0)
    ops = {"baseline": bound_unit(0.0, "baseline"), "mean": bound_unit(mean, "mean")}
    fractions = np.linspace(0, 1, 5)
    methods = {"a": [np.abs(r.numpy()) for r in x], "b": [r.numpy() for r in x],
               RANDOM: RandomOrder(model).compute(x, M=4, seed=0)}
    study = faithfulness_study(model, list(x), methods, ops["baseline"], fractions=fractions, targets=[1] * 6,
                               operators=ops, bound=BoundConfig())
    bounds = study.bounds.set_index(["operator", "example"])
    assert set(bounds["search"]) == {"exhaustive"} and len(bounds) == 12
    for op, unit in ops.items():
        for i in range(6):
            assert bounds.loc[(op, i), "upper_aopc"] == pytest.approx(_brute_force(model, x[i], unit, fractions),
                                                                      abs=1e-6)
    pe = study.per_example
    assert (pe["upper_aopc"] >= pe["deletion_aopc"] - 1e-9).all() and bounds["covered"].all()
    # the two operators give different bounds (the mean is a different removal)
    assert not np.allclose(bounds.xs("baseline")["upper_aopc"], bounds.xs("mean")["upper_aopc"])
    # 16 distinct subsets of 4 features: the search evaluates no more rows
    assert (bounds["n_forward"] <= 16).all()


def test_beam_bound_beats_a_known_good_order_and_reports_its_coverage_deterministically():
    """12 features of a small MLP, chunks of 2 features per step: the beam's order is at least as good
    as the order of the exact single-feature drops (a known-good order the search never sees) and
    the random orders; the same seed gives the same rows."""
    model = mlp(12, seed=3)
    torch.manual_seed(4)
    x = torch.randn(5, 12)
    unit = bound_unit(0.0, "baseline")
    fractions = np.linspace(0, 1, 7)
    with torch.no_grad():
        full = model(x)[:, 0]
        drops = [np.array([float(full[i] - model(x[i:i + 1] * (1 - torch.eye(12)[j]))[0, 0]) for j in range(12)])
                 for i in range(5)]
    methods = {"drops": drops, RANDOM: RandomOrder(model).compute(x, M=3, seed=0)}
    runs = [faithfulness_study(model, list(x), methods, unit, fractions=fractions,
                               bound=BoundConfig(width=5, random_orders=0)) for _ in range(2)]
    pd.testing.assert_frame_equal(runs[0].per_example, runs[1].per_example)
    pd.testing.assert_frame_equal(runs[0].bounds.drop(columns="seconds"), runs[1].bounds.drop(columns="seconds"))
    b = runs[0].bounds
    assert set(b["search"]) == {"beam"} and set(b["group"]) == {"feature"} and (b["width"] == 5).all()
    wide = runs[0].per_example.pivot(index="example", columns="method", values="deletion_aopc")
    assert (b["upper_aopc"].to_numpy() >= wide["drops"].to_numpy() - 1e-9).all()
    assert (b["upper_aopc"].to_numpy() > wide[RANDOM].to_numpy()).all()
    assert b["covered"].mean() == 1.0
    # cost: 5 beams x at most 12 starts x 6 steps + the empty row, at most, and each example's own
    assert (b["n_forward"] <= 5 * 12 * 6 + 1).all() and (b["n_forward"] > 12).all()


class Trap(nn.Module):
    """f(x) = 2 x0 + 5 (1 - (1 - x1)(1 - x2)) at x = 1, removal to 0: removing x0 alone drops 2, x1 or
    x2 alone 0, both 5. Greedy (width 1) removes x0 first: drops 0, 2, 2, 7 (AOPC 11/4); the best order
    removes x1, x2 first: 0, 0, 5, 7 (AOPC 12/4), which a beam of 5 keeps."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return (2 * x[:, 0] + 5 * (1 - (1 - x[:, 1]) * (1 - x[:, 2])) + 0 * self.dummy).unsqueeze(1)


def test_a_beam_of_five_escapes_the_greedy_trap_and_equals_the_exhaustive_optimum():
    x, unit, fractions = [torch.ones(5)], FeatureUnit(0.0), np.array([0.0, 0.2, 0.4, 0.6])
    bound = {5: search_bounds(RowCache(Trap(), x, unit), x, unit, fractions,
                              BoundConfig(width=5, exhaustive_units=0, candidates=0, random_orders=0))[0]}
    exhaustive = search_bounds(RowCache(Trap(), x, unit), x, unit, fractions, BoundConfig(exhaustive_units=5))[0]
    assert exhaustive.search == "exhaustive" and exhaustive.upper_aopc == pytest.approx(12 / 4)
    assert bound[5].search == "beam" and bound[5].upper_aopc == pytest.approx(12 / 4)
    assert set(bound[5].order[:2].tolist()) == {1, 2}
    # the greedy order (what a beam of one would keep) is worse: the search did not stop at it
    greedy = faithfulness_curves(Trap(), x, [np.array([5.0, 4, 3, 0, 0])], unit, fractions=fractions)[0]
    assert float((greedy[0] - greedy).mean()) == pytest.approx(11 / 4)


def test_bound_is_the_curve_of_a_real_order_read_at_the_methods_fractions():
    """The reported bound is the deletion AOPC of the order it found, recomputed by the curve code."""
    model = mlp(10, seed=5)
    torch.manual_seed(6)
    x = torch.randn(3, 10)
    unit = bound_unit(0.0, "baseline")
    fractions = np.linspace(0, 0.8, 5)
    cache = RowCache(model, list(x), unit, targets=[2, 2, 2])
    found = search_bounds(cache, list(x), unit, fractions, BoundConfig(max_steps=2, candidates=4))
    for i, r in enumerate(found):
        ranks = np.empty(10)
        ranks[r.order] = np.arange(10, 0, -1)
        c = faithfulness_curves(model, [x[i]], [ranks], unit, fractions=fractions, targets=[2])[0]
        assert r.upper_aopc == pytest.approx(float((c[0] - c).mean()), abs=1e-7)
        np.testing.assert_allclose(r.curve, c, atol=1e-7)
        assert sorted(r.order.tolist()) == list(range(10))


def test_pixel_groups_are_square_patches_and_other_units_runs_of_span():
    groups, label = unit_groups(PixelUnit(), torch.zeros(3, 4, 4), patch=2)
    assert label == "pixel 2x2 patch" and len(groups) == 4
    assert groups[0].tolist() == [0, 1, 4, 5] and groups[3].tolist() == [10, 11, 14, 15]
    assert sorted(np.concatenate(groups).tolist()) == list(range(16))
    tok, tok_label = unit_groups(TokenUnit(pad_id=0), torch.tensor([5, 6, 7, 0, 0]), patch=2)
    assert tok_label == "token" and [g.tolist() for g in tok] == [[0], [1], [2]]
    runs, runs_label = unit_groups(TokenUnit(pad_id=0), torch.tensor([5, 6, 7, 8, 9, 0]), span=2)
    assert runs_label == "2 consecutive tokens" and [g.tolist() for g in runs] == [[0, 1], [2, 3], [4]]


def test_beam_on_pixel_patches_removes_partial_patches_and_reads_every_fraction():
    """Patches of 4 pixels, one pixel per step: a patch's pixels go in the patch's order, and the bound
    is the curve of the found order at the methods' fractions."""
    model = _conv()
    torch.manual_seed(9)
    x = torch.randn(2, 2, 5, 5)
    unit = PixelUnit(0.0)
    fractions = np.arange(7) / 25
    cache = RowCache(model, list(x), unit, targets=[1, 1])
    found = search_bounds(cache, list(x), unit, fractions, BoundConfig(patch=2, candidates=0, unit_drops=0))
    groups, _ = unit_groups(unit, x[0], 2)
    for i, r in enumerate(found):
        assert r.search == "beam" and r.group == "pixel 2x2 patch"
        searched = r.order[:6]  # the points searched: 6 pixels
        for g in groups:  # within a patch, pixels go in the patch's own order
            mine = [u for u in searched if u in g]
            assert mine == g[:len(mine)].tolist()
        ranks = np.empty(25)
        ranks[r.order] = np.arange(25, 0, -1)
        c = faithfulness_curves(model, [x[i]], [ranks], unit, fractions=fractions, targets=[1])[0]
        assert r.upper_aopc == pytest.approx(float((c[0] - c).mean()), abs=1e-7)


def test_bound_config_errors_name_the_key():
    with pytest.raises(ValueError, match="bound.width"):
        BoundConfig.from_config({"width": 2})
    with pytest.raises(ValueError, match="unknown keys"):
        BoundConfig.from_config({"beam": 5})
    assert BoundConfig.from_config(False) is None and BoundConfig.from_config(None) == BoundConfig()


# ----------------------------------------------------------------------------- batching
def _old_curves(model, examples, scores, unit, *, fractions, mode="deletion", targets=None, score_fn=None,
                max_batch=2048):
    """The per-method curve path before the row cache (reference only)."""
    def order(s):
        return np.argsort(-np.asarray(s, dtype=float), kind="stable")

    model.eval()
    out = np.zeros((len(examples), len(fractions)))
    pending: list[int] = []

    def flush():
        masks = [removal_masks(order(scores[i]), fractions, mode) for i in pending]
        y = unit.forward_removed(model, [examples[i] for i in pending], masks)
        if score_fn is not None:
            y = score_fn(y)
        y = y.float().reshape(y.shape[0], -1).cpu().numpy()
        for j, i in enumerate(pending):
            col = 0 if targets is None else int(targets[i])
            out[i] = y[j * len(fractions):(j + 1) * len(fractions), col]
        pending.clear()

    with torch.no_grad():
        for i in range(len(examples)):
            pending.append(i)
            if len(pending) * len(fractions) >= max_batch:
                flush()
        if pending:
            flush()
    return out


def _old_study(model, examples, explanations: Mapping, unit, *, fractions, targets=None, max_batch=2048):
    rows = []
    for name, explanation in explanations.items():
        rankings = score_sets(explanation, examples, unit, "raw")
        summary = {}
        for mode in ("deletion", "insertion"):
            curves = np.mean([_old_curves(model, examples, s, unit, fractions=fractions, mode=mode, targets=targets,
                                          max_batch=max_batch) for s in rankings], axis=0)
            summary[mode] = ((curves[:, :1] - curves) if mode == "deletion" else (curves - curves[:, :1])).mean(1)
        rows += [{"method": name, "example": i, "deletion_aopc": summary["deletion"][i],
                  "insertion_auc": summary["insertion"][i]} for i in range(len(examples))]
    return pd.DataFrame(rows)


class CountingUnit(PixelUnit):
    """Pixels removed to 0, counting the forward passes and their rows."""

    def __init__(self):
        super().__init__(0.0)
        self.calls: list[int] = []

    def forward_removed(self, model, examples, removed):
        self.calls.append(sum(int(r.shape[0]) for r in removed))
        return super().forward_removed(model, examples, removed)


def _conv():
    torch.manual_seed(7)
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3),
                         nn.Softmax(-1)).eval()


def test_packed_curves_equal_the_per_method_path_bit_for_bit_in_fewer_forward_passes():
    model = _conv()
    torch.manual_seed(8)
    x = torch.randn(7, 2, 5, 5)
    rng = np.random.default_rng(0)
    methods = {"a": [rng.normal(size=25) for _ in range(7)], "b": [rng.normal(size=25) for _ in range(7)],
               RANDOM: RandomOrder(model).compute(x, M=3, seed=1)}
    fractions = np.linspace(0, 0.5, 6)
    targets = [0, 1, 2, 0, 1, 2, 0]
    old = _old_study(model, list(x), methods, PixelUnit(0.0), fractions=fractions, targets=targets, max_batch=40)
    unit = CountingUnit()
    study = faithfulness_study(model, list(x), methods, unit, fractions=fractions, targets=targets, max_batch=40,
                               bound=None)
    new = study.per_example
    merged = old.merge(new, on=["method", "example"], suffixes=("_old", ""))
    assert len(merged) == 21
    np.testing.assert_array_equal(merged["deletion_aopc_old"].to_numpy(), merged["deletion_aopc"].to_numpy())
    np.testing.assert_array_equal(merged["insertion_auc_old"].to_numpy(), merged["insertion_auc"].to_numpy())
    # f(x) and the fully removed image of every example (14 rows) once for all; then each method's
    # distinct rows (MoRF, LeRF and insertion of every sample and image) in full passes of its own
    rows = study.cost.set_index("method")["curve_rows"]
    assert rows[RANDOM] > rows["a"] and rows.sum() + 14 < 5 * 3 * 7 * 6
    assert max(unit.calls) <= 40 and sum(unit.calls) == rows.sum() + 14
    assert len(unit.calls) == 1 + sum(-(-int(r) // 40) for r in rows)
    # removing a method moves nothing of the others, the bound included
    with_bound = [faithfulness_study(model, list(x), m, PixelUnit(0.0), fractions=fractions, targets=targets,
                                     max_batch=40, bound=BoundConfig(patch=2, candidates=4)).per_example
                  for m in (methods, {k: v for k, v in methods.items() if k != "b"})]
    keep = with_bound[0][with_bound[0]["method"] != "b"].reset_index(drop=True)
    pd.testing.assert_frame_equal(keep, with_bound[1], check_exact=True)


# ----------------------------------------------------------------------------- the suite
def test_suite_measures_every_method_under_every_operator_with_the_bound_and_its_coverage():
    from xairepro.experiments.explainer import Explainer
    from xairepro.experiments.suite import COST_COLUMNS, FaithfulnessSpec, faithfulness_suite

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 1)).eval()
    x = torch.randn(10, 4)
    ops = {"baseline": bound_unit(0.0, "baseline"), "mean": bound_unit(x.mean(0), "mean")}
    names = ["input_x_gradient", "vanilla_grad", RANDOM]
    explainer = Explainer(model, names, settings={"max_batch": 64}, method_options={RANDOM: {"M": 3}})
    labels = dict(experiment="toy", modality="table", unit="feature", model="mlp", replicate=0)
    spec = FaithfulnessSpec.from_config(ops["baseline"], {"steps": 4, "max_fraction": 1.0, "sanity_steps": [],
                                                          "uncertainty": False, "bound": {"width": 6}},
                                        ctx=type("Ctx", (), {"max_batch": 64, "seed": 0})(), operators=ops)
    assert spec.bound == BoundConfig(width=6)
    res = faithfulness_suite(explainer, x, spec, labels=labels, target=0)
    pe = res.per_example
    assert len(pe) == 10 * 3 * 2 and set(pe["operator"]) == {"baseline", "mean"}
    # the bound is one number per (example, operator), on every method's row, and covers them all (exhaustive)
    assert (pe.groupby(["operator", "example"])["upper_aopc"].nunique() == 1).all()
    assert (pe["upper_aopc"] >= pe["deletion_aopc"] - 1e-9).all()
    np.testing.assert_allclose(pe["srg"], pe["deletion_aopc"] - pe["lerf_aopc"])
    b = res.bounds
    assert len(b) == 20 and b["covered"].all() and set(b["search"]) == {"exhaustive"}
    best = pe.groupby(["operator", "example"])["deletion_aopc"].max()
    np.testing.assert_allclose(b.set_index(["operator", "example"])["best_method_aopc"].loc[best.index], best)
    assert list(res.cost.columns) == COST_COLUMNS and len(res.cost) == 6
    assert set(res.summary["operator"]) == {"baseline", "mean"} and len(res.summary) == 6
    assert set(res.curves["mode"]) == {"deletion", "lerf", "insertion"} and "bounds" in res.tables()
    # the summary's LeRF and SRG are the per-example means
    row = res.summary.set_index(["operator", "method"]).loc[("mean", "input_x_gradient")]
    sel = pe[(pe["operator"] == "mean") & (pe["method"] == "input_x_gradient")]
    assert row["lerf_aopc"] == pytest.approx(sel["lerf_aopc"].mean()) and row["srg"] == pytest.approx(sel["srg"].mean())


def test_default_groups_are_half_a_step_of_consecutive_units():
    """20 features removed 10 at a time: groups of 5 consecutive features; one at a time: single."""
    model, x, unit = mlp(20, seed=2), [torch.randn(20)], FeatureUnit(0.0)
    # the beam's own orders (the single-unit-drop order, read beside them, is scattered by design)
    coarse = search_bounds(RowCache(model, x, unit), x, unit, np.linspace(0, 1, 3), BoundConfig(unit_drops=0))[0]
    fine = search_bounds(RowCache(model, x, unit), x, unit, np.arange(5) / 20, BoundConfig(unit_drops=0))[0]
    assert coarse.group == "5 consecutive features" and fine.group == "feature"
    # with groups of 5 the first step removes two whole runs of 5
    first = sorted(coarse.order[:10].tolist())
    assert {u // 5 for u in first} == {first[0] // 5, first[-1] // 5} and len({u // 5 for u in first}) == 2


def test_bound_coverage_is_the_share_of_covered_examples_per_operator():
    from xairepro.evaluation.bounds import bound_coverage

    rows = pd.DataFrame({"experiment": "t", "model": "m", "operator": ["a", "a", "a", "b"],
                         "covered": [True, False, True, True], "search": ["beam", "beam", "exhaustive", "beam"],
                         "group": "feature", "n_forward": [10, 20, 30, 5], "seconds": [1.0, 2.0, 3.0, 0.5]})
    cov = bound_coverage(rows).set_index("operator")
    assert cov.loc["a", "coverage"] == pytest.approx(2 / 3) and cov.loc["b", "coverage"] == 1.0
    assert cov.loc["a", "search"] == "beam+exhaustive" and cov.loc["a", "rows_per_example"] == 20
    assert cov.loc["a", "seconds"] == 6.0 and cov.loc["a", "n_examples"] == 3


def test_the_search_reads_its_own_seeded_random_orders_beside_the_beam():
    """Patches of 4 pixels on a small CNN: the bound with 6 random orders is the best of the beam's
    and those orders (recomputed here from the documented seed)."""
    from xairepro.evaluation.bounds import RANDOM_SEED

    model = _conv()
    torch.manual_seed(10)
    x = list(torch.randn(2, 2, 5, 5))
    unit, fractions = PixelUnit(0.0), np.arange(9) / 25
    beam_only = search_bounds(RowCache(model, x, unit), x, unit, fractions, BoundConfig(patch=2, random_orders=0))
    both = search_bounds(RowCache(model, x, unit), x, unit, fractions, BoundConfig(patch=2, random_orders=6))
    for i in range(2):
        rng = np.random.default_rng([RANDOM_SEED, i])
        best_random = -np.inf
        for _ in range(6):
            order = rng.permutation(25)
            ranks = np.empty(25)
            ranks[order] = np.arange(25, 0, -1)
            c = faithfulness_curves(model, [x[i]], [ranks], unit, fractions=fractions)[0]
            best_random = max(best_random, float((c[0] - c).mean()))
        assert both[i].upper_aopc == pytest.approx(max(beam_only[i].upper_aopc, best_random), abs=1e-7)
        assert both[i].n_forward > beam_only[i].n_forward


def test_single_unit_drop_order_reaches_scattered_evidence_a_span_search_cannot():
    """Two far-apart units carry the score (a review's two sentiment words): groups of consecutive units
    cannot remove both first, the order of the single-unit drops (the model's own response) can, and the
    bound then covers the ideal order."""
    n = 24
    w = torch.zeros(n)
    w[3], w[20] = 5.0, 4.0
    model = Linear(w.unsqueeze(0))
    x = torch.ones(1, n)
    fractions = np.linspace(0, 1, n + 1)
    ideal = np.r_[3, 20, [i for i in range(n) if i not in (3, 20)]]
    ideal_aopc = faithfulness_study(model, list(x), {"ideal": [-np.argsort(ideal).astype(float)]}, bound_unit(0.0, "baseline"),
                                    fractions=fractions).per_example["deletion_aopc"].iloc[0]
    got = {}
    for drops in (0, 1):
        cfg = BoundConfig(span=6, candidates=2, random_orders=0, unit_drops=drops)
        got[drops] = faithfulness_study(model, list(x), {"ideal": [-np.argsort(ideal).astype(float)]},
                                        bound_unit(0.0, "baseline"), fractions=fractions, bound=cfg).bounds
    assert got[1]["upper_aopc"].iloc[0] == pytest.approx(ideal_aopc) and bool(got[1]["covered"].iloc[0])
    assert got[0]["upper_aopc"].iloc[0] < ideal_aopc - 1e-6 and not bool(got[0]["covered"].iloc[0])
