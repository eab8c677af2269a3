"""Thermal zones: resolve on the device, read, sample during the cell, gate the start.

``thermal_zone*/temp`` is m°C by kernel ABI; a few vendor zones report °C, so values
under 1000 in magnitude are taken as °C. Values outside [-40, 200] °C are sensor
placeholders (disabled zones often read -273000 or 0xffff) and are dropped.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.config.probes import ThermalConfig
from harness.probes import devicefs
from harness.records import MetricValue
from harness.transport.base import Transport

PROBE = "thermal"
SNAP_PREFIX = "thermal/"
PLAUSIBLE_C = (-40.0, 200.0)


def to_celsius(raw: str | float | None) -> float | None:
    """Celsius from a thermal_zone reading (m°C, or °C for small values), None if implausible."""
    if raw is None:
        return None
    try:
        v = float(str(raw).split()[0])
    except (ValueError, IndexError):
        return None
    c = v / 1000.0 if abs(v) >= 1000 else v
    return c if PLAUSIBLE_C[0] <= c <= PLAUSIBLE_C[1] else None


def resolve_zones(cfg: ThermalConfig, transport: Transport) -> dict[str, str]:
    """{temp file path: label} for the declared zones, filtered by ``zone_types``.

    The label is the zone's ``type`` (unique-ified with the zone dir name when repeated).
    """
    paths = devicefs.expand_globs(transport, cfg.zones)
    type_paths = {p: posixpath.join(posixpath.dirname(p), "type") for p in paths}
    types = devicefs.read_first_lines(transport, list(type_paths.values())) if paths else {}
    wanted = [t.lower() for t in cfg.zone_types]
    out: dict[str, str] = {}
    used: set[str] = set()
    for p in paths:
        zone = posixpath.basename(posixpath.dirname(p))
        ztype = types.get(type_paths[p], "").strip() or zone
        if wanted and not any(w in ztype.lower() for w in wanted):
            continue
        label = ztype if ztype not in used else f"{ztype}#{zone}"
        used.add(label)
        out[p] = label
    return out


def read_temps(transport: Transport, zones: dict[str, str]) -> dict[str, float]:
    """{label: °C} now, plausible readings only."""
    raw = devicefs.read_first_lines(transport, list(zones))
    temps = {zones[p]: to_celsius(v) for p, v in raw.items() if p in zones}
    return {k: v for k, v in temps.items() if v is not None}


def plan_specs(cfg: ThermalConfig, zones: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One command probe reading every zone per interval, plus before/after snapshots."""
    if not zones:
        return [], {}
    spec = {"name": PROBE, "kind": "command", "argv": devicefs.head_argv(list(zones)), "interval_s": cfg.interval_s}
    snaps = {SNAP_PREFIX + label: path for path, label in zones.items()}
    return [spec], snaps


@dataclass
class ThermalSummary:
    metrics: list[MetricValue] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)


def _snapshot_max(snap: dict[str, Any]) -> tuple[float | None, str | None]:
    best: tuple[float | None, str | None] = (None, None)
    for name, text in (snap or {}).items():
        if not name.startswith(SNAP_PREFIX) or name.endswith(".error"):
            continue
        c = to_celsius(text)
        if c is not None and (best[0] is None or c > best[0]):
            best = (c, name[len(SNAP_PREFIX) :])
    return best


def summarize(zones: dict[str, str], result: dict[str, Any]) -> ThermalSummary:
    """temp_start_c / temp_max_c / temp_end_c: hottest zone before, during, after the cell."""
    out = ThermalSummary()
    if not zones:
        return out
    snaps = result.get("snapshots") or {}
    start, start_zone = _snapshot_max(snaps.get("before") or {})
    end, end_zone = _snapshot_max(snaps.get("after") or {})
    rec = (result.get("probes") or {}).get(PROBE) or {}
    times, series = [], []
    per_zone: dict[str, list[float]] = {}
    for t, text in zip(rec.get("t", []), rec.get("v", [])):
        temps = {zones[p]: to_celsius(v) for p, v in devicefs.parse_head(text).items() if p in zones}
        good = {k: v for k, v in temps.items() if v is not None}
        if good:
            times.append(float(t))
            series.append(max(good.values()))
            for k, v in good.items():
                per_zone.setdefault(k, []).append(v)
    candidates = [v for v in (start, end, *series) if v is not None]
    method = f"hottest of {len(zones)} thermal zone(s): {', '.join(sorted(zones.values())[:8])}"
    if start is None and series:
        start = series[0]
    if end is None and series:
        end = series[-1]
    for name, value in (("temp_start_c", start), ("temp_max_c", max(candidates) if candidates else None), ("temp_end_c", end)):
        if value is not None:
            out.metrics.append(MetricValue(name, float(value), "C", "info", method))
    out.info = {
        "zones": sorted(zones.values()),
        "start_zone": start_zone,
        "end_zone": end_zone,
        "series": {"t": times, "max_c": series},
        "zone_max_c": {k: max(v) for k, v in per_zone.items()},
        "error": rec.get("error"),
    }
    return out


@dataclass
class GateOutcome:
    status: str  # ok / gated / unknown
    waited_s: float
    start_temp_c: float | None
    reason: str | None


def wait_cool(
    read: Callable[[], dict[str, float]],
    limit_c: float,
    max_wait_s: float,
    poll_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> GateOutcome:
    """Poll the hottest zone until it is at or below ``limit_c``, for at most ``max_wait_s``."""
    t0 = clock()
    temps = read()
    if not temps:
        return GateOutcome("unknown", 0.0, None, "no readable thermal zone for the start-temperature gate")
    first_zone, first = max(temps.items(), key=lambda kv: kv[1])
    zone, hottest = first_zone, first
    while hottest > limit_c:
        waited = clock() - t0
        if waited >= max_wait_s:
            return GateOutcome(
                "gated",
                waited,
                hottest,
                f"{zone} at {hottest:.1f} C, above max_start_temp_c {limit_c:g} C after a "
                f"{waited:.1f} s cooldown (cooldown_max_s {max_wait_s:g})",
            )
        sleep(min(poll_s, max(0.0, max_wait_s - waited)))
        temps = read() or temps
        zone, hottest = max(temps.items(), key=lambda kv: kv[1])
    waited = clock() - t0
    reason = None
    if first > limit_c:
        reason = f"cooled {first_zone} {first:.1f} C -> {zone} {hottest:.1f} C in {waited:.1f} s"
    return GateOutcome("ok", waited if first > limit_c else 0.0, hottest, reason)


def series_array(info: dict[str, Any]) -> np.ndarray:
    """The hottest-zone temperature series of a summary's info (for sustained reports)."""
    return np.asarray((info.get("series") or {}).get("max_c", []), dtype=float)
