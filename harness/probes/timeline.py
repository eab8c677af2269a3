"""Latency, temperature and power over time for one long cell (the ``sustained`` mode).

Pure functions over what a cell already records: the raw latency samples with their
steady window, and the probe series (device monotonic clock). The agent times calls
back to back, so sample i ends at the window start plus the running sum of durations,
scaled onto the window to absorb loop overhead.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np


@dataclass
class Slice:
    t0_s: float  # seconds since the steady window started
    t1_s: float
    n: int
    p50_ms: float | None
    p90_ms: float | None
    temp_max_c: float | None
    power_w: float | None


@dataclass
class Phase:
    """Latency and conditions over one stretch of the run (burst: the start; sustained: the end)."""

    t0_s: float
    t1_s: float
    n: int
    p50_ms: float | None
    temp_max_c: float | None
    power_w: float | None


@dataclass
class Timeline:
    series: str
    duration_s: float
    slices: list[Slice] = field(default_factory=list)
    burst: Phase | None = None
    sustained: Phase | None = None

    @property
    def sustained_over_burst(self) -> float | None:
        """p50 latency ratio end/start: 1.3 means 30 % slower once heat-soaked."""
        if not (self.burst and self.sustained and self.burst.p50_ms and self.sustained.p50_ms):
            return None
        return self.sustained.p50_ms / self.burst.p50_ms

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "sustained_over_burst": self.sustained_over_burst}


def sample_times(samples_ms: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    """Device time at which each timed call ended."""
    w0, w1 = window
    ends = np.cumsum(samples_ms) / 1000.0
    if ends.size and ends[-1] > 0:
        ends = ends * ((w1 - w0) / ends[-1])
    return w0 + ends


def _stretch(x_t: np.ndarray, x: np.ndarray, a: float, b: float) -> np.ndarray:
    return x[(x_t >= a) & (x_t <= b)] if x_t.size else x_t


def _phase(lat_t, lat, temp_t, temp, pw_t, pw, a, b, w0) -> Phase:  # type: ignore[no-untyped-def]
    got = _stretch(lat_t, lat, a, b)
    tc = _stretch(temp_t, temp, a, b)
    p = _stretch(pw_t, pw, a, b)
    return Phase(
        round(a - w0, 3),
        round(b - w0, 3),
        int(got.size),
        float(np.median(got)) if got.size else None,
        float(tc.max()) if tc.size else None,
        float(p.mean()) if p.size else None,
    )


def build_timeline(
    series: str,
    samples_ms: np.ndarray,
    window: tuple[float, float],
    temp: tuple[np.ndarray, np.ndarray] | None = None,
    power: tuple[np.ndarray, np.ndarray] | None = None,
    slices: int = 10,
    burst_s: float = 10.0,
) -> Timeline:
    """Cut the steady window into ``slices``; burst = first ``burst_s`` s, sustained = last slice."""
    samples_ms = np.asarray(samples_ms, dtype=float)
    w0, w1 = float(window[0]), float(window[1])
    lat_t = sample_times(samples_ms, (w0, w1))
    empty = np.zeros(0)
    temp_t, temp_c = (np.asarray(temp[0], float), np.asarray(temp[1], float)) if temp else (empty, empty)
    pw_t, pw = (np.asarray(power[0], float), np.asarray(power[1], float)) if power else (empty, empty)
    dur = max(w1 - w0, 0.0)
    tl = Timeline(series, round(dur, 3))
    if dur == 0 or samples_ms.size == 0:
        return tl
    edges = np.linspace(w0, w1, max(1, slices) + 1)
    for a, b in zip(edges[:-1], edges[1:]):
        got = samples_ms[(lat_t > a) & (lat_t <= b)]
        tc = _stretch(temp_t, temp_c, a, b)
        p = _stretch(pw_t, pw, a, b)
        tl.slices.append(
            Slice(
                round(a - w0, 3),
                round(b - w0, 3),
                int(got.size),
                float(np.median(got)) if got.size else None,
                float(np.percentile(got, 90)) if got.size else None,
                float(tc.max()) if tc.size else None,
                float(p.mean()) if p.size else None,
            )
        )
    burst_end = min(w0 + burst_s, edges[1])
    tl.burst = _phase(lat_t, samples_ms, temp_t, temp_c, pw_t, pw, w0, burst_end, w0)
    tl.sustained = _phase(lat_t, samples_ms, temp_t, temp_c, pw_t, pw, edges[-2], w1, w0)
    return tl


def timelines_from_result(
    result: dict[str, Any], samples: dict[str, np.ndarray], slices: int = 10, burst_s: float = 10.0
) -> list[Timeline]:
    """One timeline per measured series of a stored cell (its result JSON + raw samples)."""
    info = result.get("probe_info") or {}
    th = (info.get("thermal") or {}).get("series") or {}
    pw = (info.get("power") or {}).get("series") or {}
    temp = (np.asarray(th.get("t", [])), np.asarray(th.get("max_c", []))) if th.get("t") else None
    power = (np.asarray(pw.get("t", [])), np.asarray(pw.get("w", []))) if pw.get("t") else None
    out = []
    for name, window in sorted((result.get("windows") or {}).items()):
        if name == "idle" or name not in samples or not window:
            continue
        out.append(build_timeline(name, samples[name], (window[0], window[1]), temp, power, slices, burst_s))
    return out
