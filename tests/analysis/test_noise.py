"""Run-to-run noise: robust σ, a series' own σ_run (a step does not inflate it), calibration from A/A runs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.analysis.noise import (
    as_percent,
    calibrate,
    from_percent,
    history_noise,
    robust_sigma,
    series_sigma,
)


def test_robust_sigma_of_normal_sample_and_outliers() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2.0, 20000)
    assert robust_sigma(x) == pytest.approx(2.0, rel=0.05)
    x[:500] = 1e6  # 2.5 % wild values barely move it
    assert robust_sigma(x) == pytest.approx(2.0, rel=0.1)
    assert math.isnan(robust_sigma([]))


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
        assert c is not None and c.n_runs == 10 and c.df == 9 and c.within == pytest.approx(0.01)
        hits += c.low <= 0.04 <= c.high
        est.append(c.sigma)
    assert hits / 400 >= 0.92
    assert np.median(est) == pytest.approx(0.04, rel=0.15)
    assert calibrate([0.0, 0.1], [0.0, 0.0]) is None  # two runs cannot calibrate


def test_percent_round_trip() -> None:
    assert as_percent(from_percent(5.0)) == pytest.approx(5.0)
    assert as_percent(None) is None and as_percent(float("nan")) is None
