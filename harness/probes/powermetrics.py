"""macOS ``powermetrics --samplers cpu_power,gpu_power``.

Each interval prints a block ending with ``Combined Power (CPU + GPU + ANE): 1234 mW``
(older macOS: ``Package Power``). A value covers the interval that just ended, so it
is placed at the interval's midpoint. ``rail`` picks ``CPU``/``GPU``/``ANE`` instead.
It needs root (``sudo -n``) and is Apple's energy model, hence the "estimate" tier.
"""

from __future__ import annotations

import re

import numpy as np

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, interval_ms, probe_values, stream_plan
from harness.transport.base import Transport

_COMBINED = re.compile(r"^(?:Combined Power \(CPU \+ GPU \+ ANE\)|Package Power):\s*([\d.]+)\s*(mW|W)\b")


def parse_line(line: str, rail: str | None) -> float | None:
    """Watts from one powermetrics line, or None when it is not the wanted line."""
    if rail:
        m = re.match(rf"^{re.escape(rail)} Power:\s*([\d.]+)\s*(mW|W)\b", line.strip())
    else:
        m = _COMBINED.match(line.strip())
    if not m:
        return None
    value = float(m.group(1))
    return value / 1000.0 if m.group(2) == "mW" else value


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    argv = cfg.argv or ["sudo", "-n", "powermetrics", "--samplers", "cpu_power,gpu_power", "-i",
                        interval_ms(cfg.interval_s)]
    return stream_plan("powermetrics", cfg.tier,
                       f"powermetrics {cfg.rail + ' Power' if cfg.rail else 'Combined Power (CPU+GPU+ANE)'}", argv)


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    times, lines, err = probe_values(probes, "power.stream")
    t_out, w_out = [], []
    taken = False  # one value per sample block ("GPU Power" appears in two sections)
    for t, line in zip(times, lines):
        if line.startswith("*** Sampled system activity"):
            taken = False
            continue
        w = parse_line(line, cfg.rail)
        if w is not None and not taken:
            t_out.append(t - cfg.interval_s / 2.0)
            w_out.append(w)
            taken = True
    errors = [f"power: powermetrics: {err}"] if err else []
    if not w_out:
        errors.append("power: powermetrics printed no power lines (needs root: sudo -n)")
    return PowerSeries(np.asarray(t_out), np.asarray(w_out), errors)
