"""Raspberry Pi 5 PMIC ADC: ``vcgencmd pmic_read_adc``.

Output lines look like ``   VDD_CORE_A current(7)=0.62357000A`` and
``   VDD_CORE_V volt(15)=0.72048500V``; a rail's power is its _A line times its _V line
(paired by rail name). With no ``rail`` the paired rails are summed: that is the SoC-side
total and excludes what the 5 V input feeds directly (USB, fan), so it reads low.
The Pi 4 has no power sensing at all.
"""

from __future__ import annotations

import re

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, probe_values, read_samples
from harness.transport.base import Transport

_LINE = re.compile(r"^\s*(\S+)_([AV])\s+(?:current|volt)\(\d+\)=(-?[\d.]+)[AV]\s*$")


def parse_adc(text: str) -> dict[str, float]:
    """{rail: watts} for every rail that has both a current and a voltage line."""
    amps: dict[str, float] = {}
    volts: dict[str, float] = {}
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            (amps if m.group(2) == "A" else volts)[m.group(1)] = float(m.group(3))
    return {rail: amps[rail] * volts[rail] for rail in amps if rail in volts}


def total_watts(text: str, rail: str | None) -> float | None:
    rails = parse_adc(text)
    if not rails:
        return None
    if rail is None:
        return sum(rails.values())
    key = rail.removesuffix("_A").removesuffix("_V")
    return rails.get(key)


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    argv = cfg.argv or ["vcgencmd", "pmic_read_adc"]
    which = f"rail {cfg.rail}" if cfg.rail else "sum of PMIC rails (excludes 5 V peripherals)"
    return PowerPlan(
        source="pi5-pmic",
        tier=cfg.tier,
        detail=f"vcgencmd pmic_read_adc, {which}",
        specs=[{"name": "power.pmic", "kind": "command", "argv": argv, "interval_s": cfg.interval_s}],
    )


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    times, texts, err = probe_values(probes, "power.pmic")
    t_out, w_out = read_samples(times, texts, lambda text: total_watts(text, cfg.rail))
    errors = [f"power: vcgencmd pmic_read_adc: {err}"] if err else []
    if texts and not w_out.size:
        errors.append(f"power: pmic_read_adc output has no rail {cfg.rail or '(any)'}: {texts[0][:120]!r}")
    return PowerSeries(t_out, w_out, errors)
