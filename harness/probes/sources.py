"""The power source registry: profile ``probes.power.source`` -> plan/parse functions."""

from __future__ import annotations

from types import ModuleType

from harness.probes import battery, external, ina3221, pi_pmic, powermetrics, rapl, tegrastats

SOURCES: dict[str, ModuleType] = {
    "battery": battery,
    "ina3221": ina3221,
    "tegrastats": tegrastats,
    "pi5-pmic": pi_pmic,
    "powermetrics": powermetrics,
    "rapl": rapl,
    "command": external,
}
