"""Run-to-run noise: robust σ, a series' own σ_run (a step does not inflate it), calibration from A/A runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.noise import (
    MAD_SCALE,
    as_percent,
    calibrate,
    from_percent,
    history_noise,
    robust_sigma,
    series_sigma,
    tail_df,
    variance_ratio,
)


def test_robust_sigma_of_normal_sample_and_outliers() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2.0, 20000)
    assert robust_sigma(x) == pytest.approx(2.0, rel=0.05)
    x[:500] = 1e6  # 2.5 % wild values barely move it
    assert robust_sigma(x) == pytest.approx(2.0, rel=0.1)
    assert math.isnan(robust_sigma([]))


def test_mad_scale_is_scipys_normal_quartile_to_the_last_digit() -> None:
    from scipy import stats

    assert 1.0 / float(stats.norm.ppf(0.75)) == MAD_SCALE


def test_series_sigma_ignores_a_step_and_an_outlier_run() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(0, 0.03, 60)
    base, df = series_sigma(y)
    assert base == pytest.approx(0.03, rel=0.25) and df == pytest.approx(2 / 3 * 59, rel=0.1)
    stepped = y + np.where(np.arange(60) >= 30, np.log(1.3), 0.0)
    stepped[10] += 0.5  # one wild run
    assert series_sigma(stepped)[0] == pytest.approx(base, rel=0.15)
    assert np.std(stepped) > 3 * base  # what a plain σ would have said


def test_history_noise_needs_enough_runs() -> None:
    rng = np.random.default_rng(7)
    assert history_noise(rng.normal(0, 0.02, 5)) is None
    noise = history_noise(rng.normal(0, 0.02, 40))
    assert noise is not None and noise.source == "history" and noise.runs == 30  # the latest runs only
    assert noise.sigma == pytest.approx(0.02, rel=0.35)


def test_calibration_covers_the_truth_and_nets_out_within_run_error() -> None:
    rng = np.random.default_rng(8)
    hits, est = 0, []
    for _ in range(400):
        within = np.full(10, 0.01)
        m = rng.normal(0, 0.04, 10) + rng.normal(0, 0.01, 10)
        c = calibrate(m, within)
        assert c is not None and c.n_runs == 10 and 1 <= c.df <= 9 and c.within == pytest.approx(0.01)
        hits += c.low <= 0.04 <= c.high
        est.append(c.sigma)
    assert hits / 400 >= 0.92
    assert np.median(est) == pytest.approx(0.04, rel=0.15)
    assert calibrate([0.0, 0.1], [0.0, 0.0]) is None  # two runs cannot calibrate


def test_percent_round_trip() -> None:
    assert as_percent(from_percent(5.0)) == pytest.approx(5.0)
    assert as_percent(None) is None and as_percent(float("nan")) is None


def test_heavy_tailed_runs_are_worth_fewer_degrees_of_freedom_than_normal_ones() -> None:
    rng = np.random.default_rng(3)
    normal = [tail_df(rng.normal(0, 0.02, 10)) for _ in range(300)]
    heavy = [tail_df(rng.standard_t(3, 10) * 0.02) for _ in range(300)]
    thermal = [tail_df(rng.normal(0, 0.02, 10) + np.r_[np.log(1.08), np.zeros(9)]) for _ in range(300)]
    assert np.median(normal) >= 8 and max(normal) <= 9
    # 10 runs rarely show a heavy tail (compare guards single runs with t at 3 dof for that); when they do,
    # they count for less
    assert np.percentile(heavy, 25) < 0.75 * np.percentile(normal, 25)
    assert np.median(thermal) < 0.8 * np.median(normal)  # one run in ten 8 % slow


def test_a_prior_that_the_rows_at_hand_contradict_is_stale() -> None:
    rng = np.random.default_rng(4)
    held = sum(bool((st := variance_ratio(rng.normal(0, 1, 20), 9.0)) and st.stale) for _ in range(400))
    doubled = sum(bool((st := variance_ratio(rng.normal(0, 2, 20), 9.0)) and st.stale) for _ in range(400))
    assert held / 400 <= 0.08 and doubled / 400 >= 0.7  # 20 rows against a 10-run calibration
    few_changed = np.r_[rng.normal(0, 1, 18), 30.0, -25.0]  # two rows really changed: not a stale prior
    assert not variance_ratio(few_changed, 9.0).stale  # type: ignore[union-attr]
    assert variance_ratio([1.0, 2.0, 3.0, 4.0], 9.0) is None
