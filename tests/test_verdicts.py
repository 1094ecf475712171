"""The sanity and uncertainty verdicts (xairepro.evaluation.verdicts): values on both sides of each
threshold, the group each verdict is about, and the tables the suite writes carrying them."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xairepro.evaluation.sanity import SANITY_THRESHOLD
from xairepro.evaluation.verdicts import (INFORMATIVE_THRESHOLD, LOWERED_MARGIN, randomisation_lowers, sanity_verdicts,
                                          uncertainty_verdicts)
from xairepro.report.leaderboard import sanity_cells

EPS = 1e-3


def _sanity(method, model, verdict_rhos, partial_rho=0.99, replicate=0):
    """Rows of one (model, method, replicate): one example per value at full randomisation (3 layers)
    and the same examples at a partial step (1 layer)."""
    rows = []
    for layers, label, rhos in ((1, "top layer", [partial_rho] * len(verdict_rhos)), (3, "all layers", verdict_rhos)):
        rows += [dict(experiment="exp", modality="m", unit="u", model=model, replicate=replicate, method=method,
                      randomisation=label, layers=layers, example=i, spearman=r) for i, r in enumerate(rhos)]
    return rows


def test_sanity_passes_below_the_threshold_at_full_randomisation_only():
    table = pd.DataFrame(_sanity("below", "a", [SANITY_THRESHOLD - EPS] * 2)
                         + _sanity("above", "a", [SANITY_THRESHOLD + EPS] * 2)
                         + _sanity("at", "a", [SANITY_THRESHOLD] * 2)
                         # mean of 0.2 and 0.9 is 0.55: fails although one example is far below
                         + _sanity("mixed", "a", [0.2, 0.9]))
    out = sanity_verdicts(table)
    assert len(out) == len(table) and list(out.columns[:len(table.columns)]) == list(table.columns)
    verdict = out.groupby("method")["passes"].agg(["first", "nunique"])
    assert (verdict["nunique"] == 1).all()  # one verdict per (experiment, model, method), on every row
    assert verdict["first"].to_dict() == {"below": True, "above": False, "at": False, "mixed": False}
    # the partial step's 0.99 does not enter the verdict
    assert out.set_index("method")["verdict_rho"].groupby(level=0).first()["below"] == pytest.approx(SANITY_THRESHOLD - EPS)


def test_sanity_verdict_pools_replicates_per_model_and_is_idempotent():
    table = pd.DataFrame(_sanity("m", "a", [0.3], replicate=0) + _sanity("m", "a", [0.8], replicate=1)
                         + _sanity("m", "b", [0.3], replicate=0))
    out = sanity_verdicts(table)
    by_model = out.groupby("model")[["verdict_rho", "passes"]].first()
    assert by_model.loc["a", "verdict_rho"] == pytest.approx(0.55) and not by_model.loc["a", "passes"]
    assert by_model.loc["b", "passes"]
    # one replicate alone (what one per-model job writes) passes; recomputed on the gathered rows,
    # which carry each replicate's own verdict, the verdict is the pooled one
    a = table[table["model"] == "a"]
    alone = [sanity_verdicts(a[a["replicate"] == k]) for k in (0, 1)]
    assert alone[0]["passes"].all() and not alone[1]["passes"].any()
    pooled = sanity_verdicts(pd.concat(alone, ignore_index=True))
    assert pooled["verdict_rho"].tolist() == pytest.approx([0.55] * len(a)) and not pooled["passes"].any()


def test_uncertainty_is_informative_above_the_threshold():
    rows = []
    for method, values in (("above", [INFORMATIVE_THRESHOLD + EPS] * 3), ("below", [INFORMATIVE_THRESHOLD - EPS] * 3),
                           ("at", [INFORMATIVE_THRESHOLD]), ("mixed", [0.5, -0.2, np.nan])):
        rows += [dict(experiment="exp", model="a", replicate=0, method=method, example=i, n_units=5,
                      spearman_sd_vs_drop=v) for i, v in enumerate(values)]
    out = uncertainty_verdicts(pd.DataFrame(rows))
    verdict = out.groupby("method")[["mean_rho", "informative"]].first()
    assert verdict["informative"].to_dict() == {"above": True, "below": False, "at": False, "mixed": True}
    assert verdict.loc["mixed", "mean_rho"] == pytest.approx(0.15)  # the missing correlation is skipped


def test_empty_tables_get_the_verdict_columns():
    assert {"verdict_rho", "passes"} <= set(sanity_verdicts(pd.DataFrame()).columns)
    assert {"mean_rho", "informative"} <= set(uncertainty_verdicts(pd.DataFrame()).columns)


def test_the_leaderboard_reads_the_same_sanity_verdict():
    table = pd.DataFrame(_sanity("below", "a", [SANITY_THRESHOLD - EPS]) + _sanity("above", "a", [SANITY_THRESHOLD + EPS]))
    cells = sanity_cells(table).set_index("method")
    assert cells.loc["below", "sanity"] == "pass" and cells.loc["above", "sanity"] == "fail"
    assert cells.loc["above", "sanity_rho"] == pytest.approx(SANITY_THRESHOLD + EPS)


def test_suite_tables_carry_the_verdicts():
    from xairepro.experiments.suite import SuiteResult

    sanity = pd.DataFrame(_sanity("below", "a", [0.1]) + _sanity("above", "a", [0.9]))
    unc = pd.DataFrame([dict(experiment="exp", model="a", replicate=0, method="bayesgrad", example=0, n_units=3,
                             spearman_sd_vs_drop=0.4)])
    empty = pd.DataFrame()
    tables = SuiteResult(per_example=empty, curves=empty, summary=empty, skipped=empty, sanity=sanity,
                         uncertainty=unc, cost=empty, bounds=empty).tables()
    assert tables["sanity"].groupby("method")["passes"].first().to_dict() == {"above": False, "below": True}
    assert tables["uncertainty"]["informative"].tolist() == [True]


def test_the_randomisation_check_lowers_every_non_random_method_and_leaves_random_alone():
    sanity = pd.DataFrame(_sanity("vanilla_grad", "a", [0.1, 0.3], partial_rho=0.6)
                          + _sanity("random", "a", [1.0, 1.0], partial_rho=1.0)
                          + _sanity("stubborn", "a", [1 - LOWERED_MARGIN / 2] * 2, partial_rho=0.99))
    per_example = pd.DataFrame({"experiment": "exp", "model": "a", "method": ["vanilla_grad", "random", "stubborn",
                                                                              "unmeasured"], "example": 0})
    out = randomisation_lowers(sanity, per_example).set_index("method")
    assert out.loc["vanilla_grad", "rho_first"] == pytest.approx(0.6) and out.loc["vanilla_grad", "rho_full"] == pytest.approx(0.2)
    assert out["lowered"].to_dict() == {"vanilla_grad": True, "random": False, "stubborn": False, "unmeasured": False}
    assert out["ok"].to_dict() == {"vanilla_grad": True, "random": True, "stubborn": False, "unmeasured": False}
    assert not out.loc["random", "expected"] and out.loc["stubborn", "expected"]


def test_sanity_verdict_reads_every_step_from_half_the_layers():
    """A method whose ranking survives randomising half of the layers fails even when the full
    randomisation changes it (guided backprop's pattern); one that has changed by half passes; the
    top layer alone never decides."""
    rows = []
    for method, rhos in (("survives_half", {1: 0.99, 2: 0.7, 4: 0.2}), ("changes_by_half", {1: 0.99, 2: 0.3, 4: 0.2})):
        for layers, rho in rhos.items():
            rows += [{"experiment": "e", "model": "m", "method": method, "layers": layers, "example": i,
                      "spearman": rho + d} for i, d in enumerate((-0.01, 0.01))]
    out = sanity_verdicts(pd.DataFrame(rows)).groupby("method")[["verdict_rho", "passes"]].first()
    assert out.loc["survives_half", "verdict_rho"] == pytest.approx(0.7) and not out.loc["survives_half", "passes"]
    assert out.loc["changes_by_half", "verdict_rho"] == pytest.approx(0.3) and out.loc["changes_by_half", "passes"]


def test_sanity_verdict_counts_the_half_step_of_an_odd_layer_count():
    """41 parameter layers (the CIFAR-10 ResNet-20): the cascade's half step randomises 20 of them
    (sanity_steps: n // 2), and the verdict reads it."""
    rows = [{"experiment": "e", "model": "m", "method": "survives_half", "layers": layers, "example": 0,
             "spearman": rho} for layers, rho in ((20, 0.78), (41, 0.3))]
    out = sanity_verdicts(pd.DataFrame(rows)).groupby("method")[["verdict_rho", "passes"]].first()
    assert out.loc["survives_half", "verdict_rho"] == pytest.approx(0.78) and not out.loc["survives_half", "passes"]
