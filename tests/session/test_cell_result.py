"""A cell's metrics from the runner's series: a method that is a definition, lag-1 stored, drift flagged."""

from __future__ import annotations

import numpy as np

from harness.analysis.compare import method_definition
from harness.analysis.flags import autocorrelated
from harness.analysis.within_run import estimate_run
from harness.session.cell_result import SERIES_METHOD, series_metrics


def _series(samples: np.ndarray, stopped_by: str = "max_seconds", warmup_n: int = 3) -> dict:
    return {"latency_ms@b1": {"unit": "ms", "samples": samples.tolist(), "warmup_n": warmup_n, "stopped_by": stopped_by}}


def test_method_has_no_counts_or_stop_reason_and_lag1_is_stored() -> None:
    rng = np.random.default_rng(0)
    a, _ = series_metrics(_series(rng.lognormal(0, 0.03, 361), "min_iterations+min_seconds", 2))
    b, _ = series_metrics(_series(rng.lognormal(0, 0.03, 2178), "max_seconds", 5))
    head_a = next(m for m in a if m.name == "latency_ms@b1")
    head_b = next(m for m in b if m.name == "latency_ms@b1")
    assert head_a.method == head_b.method == SERIES_METHOD  # two runs of one config: one definition
    assert not any(ch.isdigit() for ch in SERIES_METHOD) and "max_seconds" not in SERIES_METHOD
    assert method_definition(SERIES_METHOD) == SERIES_METHOD
    lag1 = next(m for m in a if m.name == "latency_ms@b1.lag1")
    assert lag1.kind == "info" and abs(lag1.value) < 0.2


def test_a_drifting_series_is_flagged_by_the_rule_compare_uses() -> None:
    rng = np.random.default_rng(1)
    heating = np.linspace(10.0, 10.6, 300) * rng.lognormal(0, 0.005, 300)  # +6 % over the run
    flag = autocorrelated("latency_ms@b1", heating)
    assert flag is not None and flag.code == "autocorrelated" and flag.extra["lag1"] > 0.5
    assert "block medians" in flag.message
    assert estimate_run(heating).method == "block medians"  # the flag and compare agree
    steady = rng.lognormal(0, 0.03, 300)
    assert autocorrelated("latency_ms@b1", steady) is None and estimate_run(steady).method == "order statistics"
    # at n = 30 a lag-1 of 0.3 is chance (1.96 / sqrt(30) = 0.36): neither flags it
    short = np.exp(np.cumsum(rng.normal(0, 0.001, 30)) * 0 + rng.normal(0, 0.03, 30))
    assert (autocorrelated("m", short) is None) == (estimate_run(short).method == "order statistics")


def test_a_changed_measurement_stays_a_different_definition() -> None:
    old = "perf_counter, median of {} ({}), {} warm-up"
    assert method_definition(old.format(361, "min_iterations+min_seconds", 2)) == method_definition(SERIES_METHOD)
    assert method_definition("VmHWM (measured session only)") != method_definition("VmHWM")  # issue 11's fix
    assert method_definition("dumpsys meminfo TOTAL PSS (max of 2)") == method_definition(
        "dumpsys meminfo TOTAL PSS (max of 3)")
