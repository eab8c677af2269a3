"""A cell's metrics from the runner's series: a method that is a definition, lag-1 stored, drift flagged."""

from __future__ import annotations

import numpy as np

from harness.analysis.compare import method_definition
from harness.session.cell_result import SERIES_METHOD, series_flags, series_metrics


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


def test_a_drifting_series_is_flagged_autocorrelated() -> None:
    rng = np.random.default_rng(1)
    heating = np.linspace(10.0, 10.6, 300) * rng.lognormal(0, 0.005, 300)  # +6 % over the run
    (flag,) = series_flags(_series(heating))
    assert flag["code"] == "autocorrelated" and flag["series"] == "latency_ms@b1" and flag["lag1"] > 0.5
    assert "block medians" in flag["message"]
    assert series_flags(_series(rng.lognormal(0, 0.03, 300))) == []
