"""Window arithmetic: average power in the steady windows, idle baseline, net energy."""

from __future__ import annotations

import numpy as np
import pytest

from harness.probes.power import PowerSeries, summarize_power


def series(points):
    t, w = zip(*points)
    return PowerSeries(np.array(t, float), np.array(w, float))


def metric(summary, name):
    return {m.name: m for m in summary.metrics}.get(name)


def test_net_energy_per_inference_subtracts_idle():
    # idle 1 W during [0,1]; 3 W during the steady window [2,4] (2 s); 100 inferences
    s = series([(0.2, 1.0), (0.8, 1.0), (1.5, 9.0), (2.5, 3.0), (3.5, 3.0), (4.5, 9.0)])
    out = summarize_power(s, {"idle": [0.0, 1.0], "latency_ms": [2.0, 4.0]}, 100, "battery:battery x")
    assert metric(out, "power_w").value == pytest.approx(3.0)
    assert metric(out, "power_w").unit == "W" and metric(out, "power_w").method == "battery:battery x"
    assert metric(out, "power_idle_w").value == pytest.approx(1.0)
    e = metric(out, "energy_mj_per_inference")
    assert e.value == pytest.approx((3.0 - 1.0) * 2.0 / 100 * 1000)  # 40 mJ
    assert e.unit == "mJ" and "net of idle" in e.method
    assert out.samples["power_w"].tolist() == [3.0, 3.0]
    assert out.samples["energy_mj_per_inference"] == pytest.approx([40.0, 40.0])
    assert not out.flags


def test_windows_are_duration_weighted():
    s = series([(1.5, 2.0), (10.5, 4.0), (11.5, 4.0), (12.5, 4.0)])
    out = summarize_power(s, {"latency_ms@b1": [1.0, 2.0], "latency_ms@b8": [10.0, 13.0]}, 40, "rail:x")
    assert metric(out, "power_w").value == pytest.approx((2.0 * 1 + 4.0 * 3) / 4)
    # no idle window: energy is gross and says so
    e = metric(out, "energy_mj_per_inference")
    assert e.value == pytest.approx((2.0 * 1 + 4.0 * 3) / 40 * 1000)
    assert "gross" in e.method


def test_window_shorter_than_interval_uses_next_sample_within_slack():
    s = series([(0.0, 1.0), (1.0, 5.0)])
    out = summarize_power(s, {"latency_ms": [0.2, 0.6]}, 10, "estimate:powermetrics", slack_s=1.0)
    assert metric(out, "power_w").value == 5.0
    out = summarize_power(s, {"latency_ms": [0.2, 0.6]}, 10, "estimate:powermetrics", slack_s=0.1)
    assert metric(out, "power_w") is None and "no samples in window" in out.flags[0]


def test_no_samples_means_absent_never_zero():
    out = summarize_power(PowerSeries.empty(), {"latency_ms": [0.0, 1.0]}, 10, "battery:x")
    assert out.metrics == [] and out.samples == {}
    assert out.flags


def test_steady_below_idle_is_flagged():
    s = series([(0.5, 2.0), (1.5, 1.0)])
    out = summarize_power(s, {"idle": [0, 1], "latency_ms": [1, 2]}, 10, "battery:x")
    assert metric(out, "energy_mj_per_inference").value < 0
    assert any("below idle" in f for f in out.flags)
