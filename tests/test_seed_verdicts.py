"""Verdicts over seeds (xairepro.report.targets): the Wilson interval of the holding rate decides,
by the declared rule (reproduced at or above one half, not reproduced below, unstable across)."""
import pytest
from statsmodels.stats.proportion import proportion_confint

from xairepro.report.targets import (HOLDING_RATE, Target, at_most, holding_interval, reproduction_row,
                                     reproduction_table, seed_verdict, write_reproduction_rows)


@pytest.mark.parametrize("k, n, verdict", [
    (16, 20, "reproduced"),       # [0.58, 0.92]: the README's count on one machine
    (12, 20, "unstable"),         # [0.39, 0.78]: another machine's count of the same claim
    (4, 4, "reproduced"),         # [0.51, 1]: the fewest seeds that can reproduce
    (3, 3, "unstable"),           # [0.44, 1]
    (4, 5, "unstable"),           # [0.38, 0.96]: 80% of five seeds, "reproduced" under the old count rule
    (0, 4, "not reproduced"),     # [0, 0.49]
    (1, 10, "not reproduced"),
    (5, 10, "unstable"),
])
def test_the_wilson_interval_of_the_holding_rate_decides(k, n, verdict):
    lo, hi = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert holding_interval(k, n) == pytest.approx((lo, hi))
    assert seed_verdict(k, n) == verdict
    assert (verdict == "reproduced") == (lo >= HOLDING_RATE) and (verdict == "not reproduced") == (hi < HOLDING_RATE)


def test_bad_counts_are_refused():
    with pytest.raises(ValueError, match="k=3, n=2"):
        holding_interval(3, 2)


def test_the_table_shows_the_holding_rate_with_its_interval(tmp_path):
    target = Target("demo.p", "dmol", "P < 0.5", "0.00", (at_most(0.5, "p"),), over_seeds=True)
    per_seed = [{"p": 0.1}] * 16 + [{"p": 0.9}] * 4
    write_reproduction_rows([reproduction_row("demo.p", "median 0.1", "cpu", per_seed=per_seed)], tmp_path / "r.csv")
    row = reproduction_table([tmp_path / "r.csv"], [target]).iloc[0]
    lo, hi = proportion_confint(16, 20, method="wilson")
    assert row["verdict"] == "reproduced" and row["seeds"] == "16/20"
    assert row["holding_rate"] == f"0.80 [{lo:.2f}, {hi:.2f}]"
