"""An external meter: a command that prints one sample per line.

Lines are ``<watts>`` or ``<meter time> <watts>`` (the last field is the value; the
arrival time on the device clock is used, so both clocks never need to agree). Headers
and other non-numeric lines are ignored. ``command_unit`` says W or mW.
"""

from __future__ import annotations

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, probe_values, read_samples, stream_plan
from harness.transport.base import Transport


def parse_line(line: str) -> float | None:
    fields = line.replace(",", " ").split()
    if not fields:
        return None
    try:
        return float(fields[-1])
    except ValueError:
        return None


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    return stream_plan("command", cfg.tier, f"external meter {cfg.argv[0]} ({cfg.command_unit})", list(cfg.argv))


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    times, lines, err = probe_values(probes, "power.stream")
    scale = 1e-3 if cfg.command_unit == "mW" else 1.0
    t_out, v_out = read_samples(times, lines, parse_line)
    errors = [f"power: meter {cfg.argv[0]}: {err}"] if err else []
    return PowerSeries(t_out, v_out * scale, errors)
