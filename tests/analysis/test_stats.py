"""The run-level tests checked against scipy's own t tests, hand-computed values and their own null."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st_
from scipy import stats

from harness.analysis.stats import (
    CONFIDENCE,
    Difference,
    holm,
    known_sigma,
    one_sided_pool,
    paired,
    runs_needed,
    runs_to_detect,
    t_test,
    welch,
)


def test_welch_matches_scipy_ttest_ind() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.0, 0.03, 4), rng.normal(0.05, 0.05, 6)
    diff = welch(a, b, [0.0] * 4, [0.0] * 6)
    ref = stats.ttest_ind(b, a, equal_var=False)
    test = t_test(diff, 0.01)
    assert diff.d == pytest.approx(b.mean() - a.mean())
    assert test.p == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval(CONFIDENCE)
    assert (test.low, test.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_paired_matches_scipy_ttest_rel() -> None:
    rng = np.random.default_rng(2)
    drift = rng.normal(0.0, 0.05, 5)  # shared by both builds in a round: the pairing cancels it
    a, b = drift + rng.normal(0, 0.01, 5), drift + 0.04 + rng.normal(0, 0.01, 5)
    test = t_test(paired(a, b, [0.0] * 5, [0.0] * 5), 0.01)
    assert test.p == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
    assert test.p < 0.01 < stats.ttest_ind(b, a).pvalue  # unpaired, the drift hides the change


def test_one_sided_pool_is_students_t_with_the_many_runs_side() -> None:
    a, b = [0.0, 0.02, -0.02, 0.01], [0.1]
    diff = one_sided_pool(a, b, [0.0] * 4, [0.0])
    assert diff.df == 3 and diff.se == pytest.approx(np.std(a, ddof=1) * math.sqrt(1 / 4 + 1))


def test_known_sigma_adds_within_run_error() -> None:
    diff = known_sigma([0.0], [0.1], [0.01], [0.02], sigma=0.03, df=math.inf)
    assert diff.se == pytest.approx(math.sqrt(2 * 0.03**2 + 0.01**2 + 0.02**2))
    assert t_test(diff, 0.01).p == pytest.approx(2 * stats.norm.sf(0.1 / diff.se))
    pr = known_sigma([0.0, 0.0], [0.1, 0.1], [0.0, 0.0], [0.0, 0.0], sigma=0.03, df=9, is_paired=True)
    assert pr.se == pytest.approx(math.sqrt(2 * 0.03**2 / 2)) and pr.df == 9


def test_p_is_uniform_and_ci_covers_under_the_model() -> None:
    rng = np.random.default_rng(3)
    ps, cover = [], 0
    for _ in range(2000):
        a, b = rng.normal(0, 0.04, 3), rng.normal(0.02, 0.04, 3)
        t = t_test(welch(a - 0.0, b - 0.02, [0] * 3, [0] * 3), 0.01)  # shifted back: the null holds
        ps.append(t.p)
        cover += t_test(welch(a, b, [0] * 3, [0] * 3), 0.01).low <= 0.02 <= t_test(welch(a, b, [0] * 3, [0] * 3), 0.01).high
    assert 0.035 <= np.mean(np.array(ps) < 0.05) <= 0.065
    assert 0.93 <= cover / 2000 <= 0.97


def test_holm_against_hand_computed_values() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone: 0.02, 0.03, 0.06, 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([np.nan, 0.5, 0.9])
    assert np.isnan(out[0]) and out[1:] == pytest.approx([1.0, 1.0])


def test_runs_to_detect_and_runs_needed() -> None:
    bound = math.log1p(0.05)
    quiet, noisy = runs_to_detect(0.01**2, bound, alpha=0.01), runs_to_detect(0.04**2, bound, alpha=0.01)
    assert quiet is not None and noisy is not None and 2 <= quiet < noisy
    assert runs_to_detect(0.5**2, bound, alpha=0.01) is None  # more than 100: say so, do not pretend
    # a difference sitting in the middle of the band gets decided (equivalence) with enough runs ...
    middle = Difference(d=0.0, se=0.05, df=2, var_run=0.03**2, sigma_run=0.03)
    k = runs_needed(middle, bound=bound, alpha=0.01, tests=1, have=1)
    assert k is not None and k > 1
    se_k = math.sqrt(2 * 0.03**2 / k)
    assert stats.t.ppf(0.975, 2 * k - 2) * se_k < bound
    # ... one just inside the bound never is: neither equivalent nor beyond it
    edge = Difference(bound * 0.999, 0.05, 2, 0.03**2, 0.03)
    assert runs_needed(edge, bound=bound, alpha=0.01, tests=1, have=1) is None


def test_median_ci_is_scipys_order_statistic_interval_and_covers_the_median() -> None:
    from scipy import stats as st

    from harness.analysis.stats import ORDER_STATISTICS_MIN_N, median_ci

    rng = np.random.default_rng(11)
    for n in (ORDER_STATISTICS_MIN_N, 21, 55, 1000, 20_001):
        x = rng.lognormal(0.0, 0.2, n)
        ref = st.quantile_test(x, q=float(np.median(x)), p=0.5).confidence_interval(0.95)
        assert median_ci(x) == (ref.low, ref.high), n
    small = rng.lognormal(0.0, 0.2, 7)
    lo, hi = median_ci(small)  # type: ignore[misc]
    assert lo <= np.median(small) <= hi and median_ci(small) == (lo, hi)  # bootstrap, fixed seed
    assert median_ci([1.0]) is None and median_ci([2.0, 2.0, 2.0]) == (2.0, 2.0)
    hits = sum(lo <= 1.0 <= hi for lo, hi in (median_ci(rng.lognormal(0.0, 0.3, 41)) for _ in range(400)))  # type: ignore[misc]
    assert hits >= 0.93 * 400  # the true median (1.0) is covered at least ~95 % of the time


def _least_k_exact(q: float, n: int) -> int:
    """The least k with P(X <= k) >= q for X ~ Binomial(n, 1/2), in exact rationals (an independent oracle)."""
    target, total = Fraction(q) * 2**n, 0
    for k in range(n + 1):
        total += math.comb(n, k)
        if total >= target:
            return k
    return n


def _expected(q: float, n: int) -> int:
    if q == 0.5:
        return n // 2  # odd n: P(X <= (n-1)/2) is exactly 1/2; even n: the middle term tips it
    return _least_k_exact(q, n) if n <= 2000 else int(stats.binom.ppf(q, n, 0.5))


@settings(max_examples=300, deadline=None)
@given(n=st_.integers(min_value=1, max_value=200_000),
       q=st_.sampled_from([0.025, 0.005, 0.05, 0.0005, 0.5, 0.25]) | st_.floats(min_value=1e-6, max_value=1 - 1e-6))
def test_binomial_half_quantile_is_the_binomial_quantile(n: int, q: float) -> None:
    """median_ci's quantile comes from scipy.special (a third of scipy.stats' import cost): the least k
    with P(X <= k) >= q, checked in exact rationals up to n = 2000 and against scipy.stats.binom.ppf
    above. Where the CDF equals q exactly (q = m / 2**n) floats decide by chance: scipy.stats' own
    ppf(0.5, 35, 0.5) reads 18 where the answer is 17 (hypothesis found n = 7, q = 0.5 here first)."""
    from harness.analysis.stats import binomial_half_quantile

    assert binomial_half_quantile(q, n) == _expected(q, n)


@pytest.mark.parametrize("n", [1, 2, 7, 8, 35, 223, 661, 1023, 1024, 1999, 4097, 200_001])
@pytest.mark.parametrize("q", [0.5, 0.25, 0.125, 0.375, 1 / 1024])
def test_binomial_half_quantile_at_dyadic_q_where_the_cdf_can_equal_q(n: int, q: float) -> None:
    from harness.analysis.stats import binomial_half_quantile

    expected = _least_k_exact(q, n) if n <= 5000 else _expected(q, n)
    assert binomial_half_quantile(q, n) == expected
