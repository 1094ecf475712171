"""The paired Wilcoxon test every evaluation shares (xairepro.evaluation.stats): scipy's result, with
its exact permutation branch batched."""
import numpy as np
import pytest
from scipy.stats import wilcoxon

from xairepro.evaluation.stats import _exact_permutation, paired_wilcoxon


def _pairs(seed, n, tie_share):
    rng = np.random.default_rng(seed)
    a, b = np.round(rng.normal(size=n), 1), np.round(0.5 * rng.normal(size=n), 1)
    k = int(round(tie_share * n))
    b[:k] = a[:k]                                           # zero differences
    return a, b


@pytest.mark.parametrize("seed", range(40))
def test_equals_scipy_wilcoxon_on_tied_and_zero_differences(seed):
    n = 2 + seed % 12                                       # 2..13: scipy's exact permutation branch
    a, b = _pairs(seed, n, tie_share=0.25 if seed % 2 else 0.0)
    d = a - b
    if np.all(d == 0):
        pytest.skip("all differences zero")
    ours, ref = paired_wilcoxon(a, b), wilcoxon(a, b, alternative="two-sided")
    assert ours["pvalue"] == float(ref.pvalue) and ours["statistic"] == float(ref.statistic)


def test_the_batched_branch_is_taken_exactly_where_scipy_permutes():
    assert _exact_permutation(np.array([1.0, -1.0, 2.0]))                 # a tie of |d|
    assert _exact_permutation(np.array([0.0, 1.0, 2.0]))                  # a zero
    assert not _exact_permutation(np.array([0.5, -1.0, 2.0]))             # no ties: scipy's exact
    assert not _exact_permutation(np.r_[np.zeros(2), np.arange(1.0, 13)])  # n = 14: asymptotic
    # beyond the branch the result is scipy's own call
    a, b = _pairs(7, 30, 0.2)
    assert paired_wilcoxon(a, b)["pvalue"] == float(wilcoxon(a, b, alternative="two-sided").pvalue)


def test_smallest_two_sided_p_of_five_sign_flips_with_a_tie():
    # 5 positive differences, two of them tied: every one of the 32 flips but the all-negative one has
    # a smaller |R+ - 7.5|, so p = 2/32
    res = paired_wilcoxon([1.0, 2.0, 2.0, 3.0, 4.0], np.zeros(5))
    assert res["pvalue"] == pytest.approx(2 / 32) and res["statistic"] == 0.0
