"""One run's log median and its within-run error: order statistics, block medians, quartiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.within_run import (
    LAG1_LIMIT,
    estimate_from_quartiles,
    estimate_run,
    lag1_autocorrelation,
    sample_problem,
)


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    z = np.empty(n)
    z[0] = rng.normal(0, sigma)
    for i in range(1, n):
        z[i] = phi * z[i - 1] + rng.normal(0, sigma * math.sqrt(1 - phi**2))
    return np.exp(z)


@pytest.mark.parametrize("n", [10, 30, 100, 1000])
def test_order_statistic_error_matches_the_spread_of_medians(n: int) -> None:
    # The standard error must match how much the log median of a run really moves from run to run.
    rng = np.random.default_rng(n)
    runs = [rng.lognormal(0.0, 0.05, n) for _ in range(400)]
    spread = np.std([np.log(np.median(x)) for x in runs])
    se = np.median([estimate_run(x).se for x in runs])
    assert 0.75 * spread < se < 1.45 * spread
    assert estimate_run(runs[0]).method == "order statistics"


def test_large_runs_cost_no_bootstrap_and_agree_with_theory() -> None:
    x = np.random.default_rng(0).lognormal(0.0, 0.03, 50_000)
    est = estimate_run(x)
    assert est.se == pytest.approx(1.2533 * 0.03 / math.sqrt(50_000), rel=0.1)
    assert est.n == 50_000 and est.log_median == pytest.approx(0.0, abs=5e-4)


def test_autocorrelated_runs_get_block_medians_and_an_honest_error() -> None:
    rng = np.random.default_rng(4)
    runs = [_ar1(rng, 200, 0.8, 0.03) for _ in range(300)]
    spread = np.std([np.log(np.median(x)) for x in runs])
    ests = [estimate_run(x) for x in runs]
    assert all(e.autocorrelated and e.method == "block medians" for e in ests[:20])
    assert np.median([e.lag1 for e in ests]) > 0.6
    assert 0.7 * spread < np.median([e.se for e in ests]) < 1.6 * spread
    iid = np.std([np.log(np.median(rng.lognormal(0, 0.03, 200))) for _ in range(300)])
    assert np.median([e.se for e in ests]) > 1.8 * iid  # the independent-samples error would be far too small


def test_lag1_autocorrelation() -> None:
    rng = np.random.default_rng(5)
    assert abs(lag1_autocorrelation(rng.normal(size=5000))) < 0.05
    assert lag1_autocorrelation(np.log(_ar1(rng, 5000, 0.5, 1.0))) == pytest.approx(0.5, abs=0.05)
    assert lag1_autocorrelation([1.0, 1.0, 1.0]) is None and lag1_autocorrelation([1.0, 2.0]) is None
    ramp = np.linspace(1.0, 1.06, 100)  # a device heating up: a trend is autocorrelated
    assert lag1_autocorrelation(np.log(ramp)) > LAG1_LIMIT


def test_sample_problems_and_quartiles() -> None:
    assert sample_problem(np.array([1.0, 2.0])) == "2 sample(s), fewer than 3"
    assert "NaN" in sample_problem(np.array([1.0, np.nan, 2.0, 3.0]))
    assert "zero or negative" in sample_problem(np.array([1.0, 0.0, 2.0]))
    assert sample_problem(np.array([[1.0, 2.0, 3.0]])) == "samples are 2-dimensional"
    assert sample_problem(np.array([1.0, 2.0, 3.0])) is None
    q = estimate_from_quartiles(10.0, 9.0, 11.0, 100)
    assert q is not None and q.method == "quartiles" and q.log_median == pytest.approx(math.log(10))
    assert q.se == pytest.approx(1.2533 * (math.log(11) - math.log(9)) / 1.349 / 10)
    assert estimate_from_quartiles(10.0, None, 11.0, 100) is None
    assert estimate_from_quartiles(10.0, 11.0, 12.0, 100) is None  # a median outside its quartiles: not a run
