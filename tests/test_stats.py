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


def test_paired_t_equals_scipy_and_handles_identical_differences():
    from scipy.stats import ttest_rel

    from xairepro.evaluation.stats import paired_t

    rng = np.random.default_rng(3)
    for n in (2, 3, 5, 9):
        a, b = rng.normal(size=n), rng.normal(size=n)
        ours, ref = paired_t(a, b), ttest_rel(a, b)
        assert ours["pvalue"] == pytest.approx(ref.pvalue, rel=1e-12)
        assert ours["statistic"] == pytest.approx(ref.statistic, rel=1e-12) and ours["n"] == n
    assert paired_t([1.0, 2.0], [1.0, 2.0])["pvalue"] == 1.0
    same = paired_t([1.5, 2.5, 3.5], [1.0, 2.0, 3.0])
    assert same["pvalue"] == 0.0 and same["statistic"] == np.inf
    with pytest.raises(ValueError, match="at least 2 pairs"):
        paired_t([1.0], [0.0])


def test_the_model_level_test_is_the_t_test_below_six_models_and_the_signed_rank_test_from_six():
    from scipy.stats import ttest_rel

    from xairepro.evaluation.stats import MIN_SIGNED_RANK, paired_model_test

    assert MIN_SIGNED_RANK == 6
    # 5 models, all in favour of a: the signed-rank test's smallest p (0.0625) could not reject; the t-test can
    a, b = np.array([0.9, 0.8, 0.85, 0.95, 0.88]), np.array([0.5, 0.45, 0.55, 0.5, 0.52])
    five = paired_model_test(a, b)
    assert five["test"] == "t" and five["pvalue"] == pytest.approx(ttest_rel(a, b).pvalue) and five["pvalue"] < 1e-3
    assert wilcoxon(a, b).pvalue == pytest.approx(0.0625)
    six = paired_model_test(np.append(a, 0.9), np.append(b, 0.5))
    assert six["test"] == "wilcoxon" and six["pvalue"] == pytest.approx(2 / 64)
