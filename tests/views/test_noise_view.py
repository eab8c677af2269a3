"""σ_run priors read from the store: the baseline series' history (compared runs left out) and calibration."""

from __future__ import annotations

import math

import pytest

from harness.records import CalibratedNoise
from harness.results.analysis_tables import save_run_noise
from harness.results.store import Store
from harness.views import noise as noise_view
from tests.analysis.synthetic import CellSpec, record_run, record_runs

KEY = ("resnet", "fp32", "cpu", "fp-pixel", "latency_ms@b1")


def test_history_prior_from_the_series_without_the_runs_compared(tmp_path) -> None:
    s = Store(tmp_path / "h.db")
    ids = record_runs(s, "night", 12, run_sigma=0.04, cells=(CellSpec(),), seed=3)
    record_run(s, "abrun", cells=(CellSpec(),), seed=99, kind="ab", offset=3.0)  # an experiment: not history
    got = noise_view.history(s, [KEY, ("none", "fp32", "cpu", "fp-x", "m")], exclude_runs=ids[-2:])
    assert set(got) == {KEY}
    noise = got[KEY]
    assert noise.source == "history" and noise.runs == 10 and noise.sigma == pytest.approx(0.04, rel=0.6)
    assert noise_view.history(s, [KEY], exclude_runs=ids[:8]) == {}  # four runs left: too few to say


def test_priors_prefer_the_calibration_and_device_noise_is_its_median(tmp_path) -> None:
    s = Store(tmp_path / "c.db")
    record_runs(s, "night", 8, cells=(CellSpec(),), seed=4)
    save_run_noise(s, [CalibratedNoise(*KEY[3:4], *KEY[:3], KEY[4], "pixel", sigma=0.02, low=0.015, high=0.03,
                                       df=9, n_runs=10, within=0.002)])
    pri = noise_view.priors(s, [KEY, ("resnet", "fp32", "cpu", "fp-pixel", "tokens_per_s")], [])
    assert pri.calibrated[KEY].source == "calibrated" and pri.calibrated[KEY].df == 9
    assert KEY not in pri.history and ("resnet", "fp32", "cpu", "fp-pixel", "tokens_per_s") in pri.history
    assert noise_view.device_noise(s) == {"fp-pixel": pytest.approx(100 * math.expm1(0.02))}
    assert noise_view.priors(None, [KEY], []).calibrated == {}
