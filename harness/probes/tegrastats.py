"""Jetson ``tegrastats``: one line per interval, rails as ``VDD_IN 5118mW/5230mW``.

The first number is the instantaneous reading, the second the running average. Older
JetPacks (Xavier, Nano) print ``POM_5V_IN 3278/3278`` without units; both are mW.
"""

from __future__ import annotations

import re

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, interval_ms, probe_values, read_samples, stream_plan
from harness.transport.base import Transport


def rail_pattern(rail: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(rail)}\s+(\d+)(?:mW)?/(\d+)(?:mW)?")


def parse_line(line: str, rail: str) -> float | None:
    """Instantaneous rail power in W from one tegrastats line, or None."""
    m = rail_pattern(rail).search(line)
    return int(m.group(1)) / 1000.0 if m else None


def parse_temps(line: str) -> dict[str, float]:
    """``cpu@47.5C tj@65.5C`` -> {"cpu": 47.5, "tj": 65.5}."""
    return {k: float(v) for k, v in re.findall(r"\b([A-Za-z0-9_]+)@(-?\d+(?:\.\d+)?)C\b", line)}


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    argv = cfg.argv or ["tegrastats", "--interval", interval_ms(cfg.interval_s)]
    return stream_plan("tegrastats", cfg.tier, f"tegrastats rail {cfg.rail}", argv)


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    times, lines, err = probe_values(probes, "power.stream")
    t_out, w_out = read_samples(times, lines, lambda line: parse_line(line, cfg.rail or ""))
    errors = [f"power: tegrastats: {err}"] if err else []
    if lines and not w_out.size:
        errors.append(f"power: tegrastats printed no {cfg.rail} rail (first line: {lines[0][:120]!r})")
    return PowerSeries(t_out, w_out, errors)
