"""Power series from any source -> average power, idle baseline, energy per inference.

Every source (battery, ina3221, tegrastats, pi_pmic, powermetrics, rapl, external) turns
its raw agent samples into one ``PowerSeries``: device-monotonic times and watts, positive
when the device draws power. This module does the window arithmetic once for all of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.records import MetricValue

Window = tuple[float, float]


@dataclass
class PowerPlan:
    """What one power source asks the agent to sample, and what its parser needs."""

    source: str
    tier: str
    specs: list[dict[str, Any]] = field(default_factory=list)
    detail: str = ""  # e.g. "ina3221 VDD_IN (hwmon3 in1)"
    ctx: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class PowerSeries:
    t: np.ndarray  # device time.monotonic(), same clock as result["windows"]
    w: np.ndarray  # watts drawn (>= 0 when discharging / consuming)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def empty(cls, *errors: str) -> PowerSeries:
        return cls(np.zeros(0), np.zeros(0), list(errors))


def probe_values(probes: dict[str, Any], name: str) -> tuple[np.ndarray, list[str], str | None]:
    """(times, raw texts, error) of one agent probe record."""
    rec = probes.get(name) or {}
    return np.asarray(rec.get("t", []), dtype=float), list(rec.get("v", [])), rec.get("error")


def stream_plan(source: str, tier: str, detail: str, argv: list[str]) -> PowerPlan:
    """The plan of a source that is one long-running command printing a line a sample (probe power.stream)."""
    return PowerPlan(source=source, tier=tier, detail=detail,
                     specs=[{"name": "power.stream", "kind": "stream", "argv": argv}])


def interval_ms(interval_s: float) -> str:
    """A sampling interval as the whole milliseconds (at least 1) a meter's command line takes."""
    return str(max(1, round(interval_s * 1000)))


def read_samples(times: np.ndarray, texts: list[str], read: Callable[[str], float | None]) -> tuple[np.ndarray, np.ndarray]:
    """The samples ``read`` finds watts in (None: no reading in that text), with their times."""
    t_out, w_out = [], []
    for t, text in zip(times, texts):
        w = read(text)
        if w is not None:
            t_out.append(t)
            w_out.append(w)
    return np.asarray(t_out, dtype=float), np.asarray(w_out, dtype=float)


@dataclass
class CurrentVoltage:
    """The ``power.current`` and ``power.voltage`` file probes of one cell, in their files' units."""

    t: np.ndarray  # the current samples' times; empty when either file gave no numbers
    current: np.ndarray
    voltage: np.ndarray  # the voltage at each current sample's time
    current_error: str | None
    voltage_error: str | None


def read_current_voltage(probes: dict[str, Any]) -> CurrentVoltage:
    """Pair each current sample with the voltage at its time: separate samplers read the two files."""
    t_i, raw_i, err_i = probe_values(probes, "power.current")
    t_v, raw_v, err_v = probe_values(probes, "power.voltage")
    t_i, current = to_floats(raw_i, t_i)
    t_v, voltage = to_floats(raw_v, t_v)
    if not current.size or not voltage.size:
        return CurrentVoltage(np.zeros(0), np.zeros(0), np.zeros(0), err_i, err_v)
    order = np.argsort(t_v)
    return CurrentVoltage(t_i, current, np.interp(t_i, t_v[order], voltage[order]), err_i, err_v)


def to_floats(texts: list[str], times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Numeric samples (dropping unparsable ones) with their times."""
    t_out, v_out = [], []
    for t, text in zip(times, texts):
        try:
            v_out.append(float(str(text).split()[0]))
            t_out.append(t)
        except (ValueError, IndexError):
            continue
    return np.asarray(t_out, dtype=float), np.asarray(v_out, dtype=float)


def in_window(series: PowerSeries, window: Window, slack_s: float = 0.0) -> np.ndarray:
    """Power samples taken inside the window.

    A window shorter than the sampling interval may hold none; then the first sample
    within ``slack_s`` after it stands in (interval-averaging sources report the
    interval that just ended).
    """
    t0, t1 = window
    mask = (series.t >= t0) & (series.t <= t1)
    if mask.any():
        return series.w[mask]
    after = np.nonzero((series.t > t1) & (series.t <= t1 + slack_s))[0]
    return series.w[after[:1]]


SERIES_MAX_POINTS = 5000


def timeseries(series: PowerSeries, max_points: int = SERIES_MAX_POINTS) -> dict[str, list[float]]:
    """Power over time for the stored result (device clock), thinned to at most max_points."""
    step = max(1, -(-series.w.size // max_points))
    return {"t": series.t[::step].round(4).tolist(), "w": series.w[::step].round(5).tolist()}


@dataclass
class PowerSummary:
    metrics: list[MetricValue]
    samples: dict[str, np.ndarray]
    flags: list[str]
    info: dict[str, Any]


def summarize_power(
    series: PowerSeries,
    windows: dict[str, list[float]],
    inferences: int,
    method: str,
    slack_s: float = 0.0,
) -> PowerSummary:
    """Average power in the steady windows, idle baseline, net energy per inference.

    ``windows`` is the agent's result["windows"]: "idle" plus one per measured series.
    Energy per inference = sum over windows of (P_window - P_idle) * duration / inferences.
    With no idle window the energy is gross, and the method says so.
    """
    flags: list[str] = list(series.errors)
    info: dict[str, Any] = {"notes": list(series.notes), "n_samples_total": int(series.w.size), "series": timeseries(series)}
    metrics: list[MetricValue] = []
    samples: dict[str, np.ndarray] = {}
    steady = {k: (float(v[0]), float(v[1])) for k, v in windows.items() if k != "idle" and v}
    per_window: list[tuple[float, np.ndarray]] = []
    for name, win in sorted(steady.items()):
        got = in_window(series, win, slack_s)
        if got.size:
            per_window.append((win[1] - win[0], got))
        else:
            flags.append(f"power: no samples in window {name} ({win[1] - win[0]:.2f} s)")
    if not per_window:
        if series.w.size == 0 and not flags:
            flags.append("power: source produced no samples")
        return PowerSummary(metrics, samples, flags, info)
    durations = np.array([d for d, _ in per_window])
    means = np.array([float(s.mean()) for _, s in per_window])
    all_w = np.concatenate([s for _, s in per_window])
    total_s = float(durations.sum())
    p_avg = float((means * durations).sum() / total_s) if total_s > 0 else float(means.mean())
    metrics.append(MetricValue("power_w", p_avg, "W", "noisy", method))
    samples["power_w"] = all_w
    info["n_samples_steady"] = int(all_w.size)
    p_idle: float | None = None
    idle = windows.get("idle")
    if idle:
        idle_w = in_window(series, (float(idle[0]), float(idle[1])), 0.0)
        if idle_w.size:
            p_idle = float(idle_w.mean())
            metrics.append(MetricValue("power_idle_w", p_idle, "W", "info", method))
            samples["power_idle_w"] = idle_w
        else:
            flags.append("power: no samples in the idle window; energy is gross")
    if inferences > 0:
        net = "net of idle" if p_idle is not None else "gross (no idle baseline)"
        base = p_idle or 0.0
        energy_j = float(((means - base) * durations).sum())
        e_mj = energy_j / inferences * 1000.0
        metrics.append(MetricValue("energy_mj_per_inference", e_mj, "mJ", "noisy", f"{method}; {net}"))
        # per-sample estimates (same scale) so compare can test energy like latency
        samples["energy_mj_per_inference"] = (all_w - base) * total_s / inferences * 1000.0
        if p_idle is not None and p_avg < p_idle:
            flags.append(f"power: steady {p_avg:.3f} W below idle {p_idle:.3f} W (noisy source?)")
    return PowerSummary(metrics, samples, flags, info)
