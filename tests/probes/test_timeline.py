"""Time alignment of latency samples with probe series (the sustained mode's arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.probes.timeline import build_timeline, sample_times, timelines_from_result


def test_sample_times_end_on_the_window_end():
    t = sample_times(np.array([10.0, 10.0, 20.0]), (100.0, 100.08))  # 40 ms of calls in an 80 ms window
    assert t == pytest.approx([100.02, 100.04, 100.08])


def test_slices_burst_and_sustained():
    # 100 s at 10 ms/call getting slower: the first 50 s at 10 ms, the last 50 s at 20 ms
    lat = np.concatenate([np.full(5000, 10.0), np.full(2500, 20.0)])
    temp_t = np.arange(0.0, 101.0, 1.0)
    temp = 40.0 + temp_t * 0.2  # +20 C over the run
    power = (np.arange(0.5, 100.0, 1.0), np.where(np.arange(0.5, 100.0, 1.0) < 50, 6.0, 4.0))
    tl = build_timeline("latency_ms", lat, (0.0, 100.0), (temp_t, temp), power, slices=4, burst_s=10.0)
    assert [s.n for s in tl.slices] == [2500, 2500, 1250, 1250]
    assert [s.p50_ms for s in tl.slices] == [10.0, 10.0, 20.0, 20.0]
    assert [s.temp_max_c for s in tl.slices] == pytest.approx([45.0, 50.0, 55.0, 60.0])
    assert [s.power_w for s in tl.slices] == [6.0, 6.0, 4.0, 4.0]
    assert (tl.burst.t0_s, tl.burst.t1_s, tl.burst.n, tl.burst.p50_ms) == (0.0, 10.0, 1000, 10.0)
    assert (tl.sustained.t0_s, tl.sustained.t1_s, tl.sustained.p50_ms) == (75.0, 100.0, 20.0)
    assert tl.sustained_over_burst == 2.0
    assert tl.to_dict()["sustained_over_burst"] == 2.0


def test_no_probe_series_leaves_conditions_empty():
    tl = build_timeline("latency_ms", np.full(10, 5.0), (0.0, 0.05), slices=2, burst_s=1.0)
    assert all(s.temp_max_c is None and s.power_w is None for s in tl.slices)
    assert tl.burst.t1_s == pytest.approx(0.025)  # burst never runs past the first slice


def test_timelines_from_a_stored_result_skip_idle_and_missing_series():
    result = {
        "windows": {"idle": [0, 1], "latency_ms@b1": [1.0, 2.0], "latency_ms@b4": [2.0, 3.0]},
        "probe_info": {
            "thermal": {"series": {"t": [1.5, 2.5], "max_c": [41.0, 42.0]}},
            "power": {"series": {"t": [1.5, 2.5], "w": [3.0, 3.5]}},
        },
    }
    (tl,) = timelines_from_result(result, {"latency_ms@b1": np.full(100, 10.0)}, slices=1, burst_s=0.5)
    assert tl.series == "latency_ms@b1" and tl.slices[0].temp_max_c == 41.0 and tl.slices[0].power_w == 3.0
