"""Change points: an injected step is flagged at the right run; a single outlier run is not."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis.changepoints import StepRule, detect


def _runs(levels: list[float], n: int = 50, sigma: float = 0.03, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [lvl * rng.lognormal(0, sigma, n) for lvl in levels]


def _detect(samples, **kw):
    return detect([float(np.median(s)) for s in samples], samples, **kw)


def test_step_is_flagged_at_its_first_run() -> None:
    levels = [10.0] * 12 + [11.0] * 8
    cps = _detect(_runs(levels))
    assert [c.index for c in cps] == [12]
    assert cps[0].worse and cps[0].ratio == pytest.approx(1.10, abs=0.02) and cps[0].p < 0.01


def test_single_outlier_run_is_not_flagged() -> None:
    levels = [10.0] * 10 + [14.0] + [10.0] * 9
    assert _detect(_runs(levels)) == []


def test_step_needs_two_runs_to_count() -> None:
    assert _detect(_runs([10.0] * 12 + [11.0])) == []  # one run at the new level so far
    assert [c.index for c in _detect(_runs([10.0] * 12 + [11.0] * 2))] == [12]


def test_small_step_below_threshold_is_ignored() -> None:
    assert _detect(_runs([10.0] * 12 + [10.3] * 8, sigma=0.01)) == []


def test_noisy_series_does_not_cry_wolf() -> None:
    rng = np.random.default_rng(3)
    levels = list(10.0 * rng.lognormal(0, 0.02, 60))  # run-to-run wander well under 5 %
    assert _detect(_runs(levels, sigma=0.05, seed=4)) == []


def test_two_steps_and_improvement_direction() -> None:
    levels = [10.0] * 8 + [12.0] * 8 + [10.0] * 8
    cps = _detect(_runs(levels))
    assert [(c.index, c.worse) for c in cps] == [(8, True), (16, False)]
    hib = _detect(_runs(levels), higher_is_better=True)
    assert [c.worse for c in hib] == [False, True]


def test_medians_only_fall_back_to_a_test_on_medians() -> None:
    levels = [10.0] * 10 + [11.0] * 10
    med = [float(np.median(s)) for s in _runs(levels)]
    assert [c.index for c in detect(med)] == [10]
    assert detect(med, rule=StepRule(threshold=0.2)) == []
