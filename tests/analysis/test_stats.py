"""Statistics checked against known distributions and reference values."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.stats import holm, mann_whitney_p, median_ratio_ci, robust_sigma


def test_ci_covers_true_ratio_of_lognormal_medians() -> None:
    # lognormal(mu, s) has median exp(mu): the true ratio is exp(0.1) = 1.105.
    rng = np.random.default_rng(1)
    a = rng.lognormal(0.0, 0.1, 400)
    b = rng.lognormal(0.1, 0.1, 400)
    ci = median_ratio_ci(a, b)
    assert ci.low < np.exp(0.1) < ci.high
    assert ci.low < ci.ratio < ci.high
    assert ci.high - ci.low < 0.05


def test_ci_coverage_is_near_nominal() -> None:
    # 95 % CIs over 60 independent A/A pairs: expect ~57 to cover 1.0; far fewer means a broken CI.
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(60):
        a, b = rng.exponential(10.0, 80), rng.exponential(10.0, 80)
        ci = median_ratio_ci(a, b, n_resamples=500)
        covered += ci.low <= 1.0 <= ci.high
    assert covered >= 50


def test_ci_is_reproducible_with_fixed_seed() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 1, 50), rng.normal(10.5, 1, 50)
    assert median_ratio_ci(a, b) == median_ratio_ci(a, b)


def test_mann_whitney_matches_scipy_reference_and_extremes() -> None:
    # Reference: the scipy.stats.mannwhitneyu docs example (exact two-sided p = 0.1111, U = 17).
    males = [19, 22, 16, 29, 24]
    females = [20, 11, 17, 12]
    assert mann_whitney_p(males, females) == pytest.approx(0.11111, abs=1e-4)
    assert mann_whitney_p([1.0] * 10, [1.0] * 10) == 1.0
    rng = np.random.default_rng(0)
    assert mann_whitney_p(rng.normal(0, 1, 200), rng.normal(1, 1, 200)) < 1e-10


def test_mann_whitney_p_is_uniform_under_null() -> None:
    rng = np.random.default_rng(11)
    ps = np.array([mann_whitney_p(rng.normal(size=40), rng.normal(size=40)) for _ in range(300)])
    assert 0.02 < np.mean(ps < 0.05) < 0.09  # expected 0.05


def test_holm_against_hand_computed_values() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone: 0.02, 0.03, 0.06, 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    out = holm([np.nan, 0.5, 0.9])
    assert np.isnan(out[0]) and out[1:] == pytest.approx([1.0, 1.0])


def test_robust_sigma_of_normal_sample() -> None:
    rng = np.random.default_rng(5)
    assert robust_sigma(rng.normal(0, 2.0, 20000)) == pytest.approx(2.0, rel=0.05)


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
