"""Jetson INA3221 rail monitor under hwmon: find the channel by its label.

Mainline driver files per channel N: ``inN_label`` (rail name), ``inN_input`` (bus mV),
``currN_input`` (mA). The hwmon number moves between boots, so the channel is found on
the device by label every time.
"""

from __future__ import annotations

import posixpath
import re

from harness.config.probes import PowerConfig
from harness.probes import devicefs
from harness.probes.power import PowerPlan, PowerSeries, read_current_voltage
from harness.transport.base import Transport

_LABEL = re.compile(r"in(\d+)_label$")


def find_rail(transport: Transport, hwmon_glob: str, rail: str) -> tuple[str, str] | tuple[None, list[str]]:
    """(voltage path, current path) of the channel labelled ``rail``, or (None, labels seen)."""
    labels = devicefs.expand_globs(transport, [posixpath.join(hwmon_glob, "in*_label")])
    texts = devicefs.read_first_lines(transport, labels)
    seen = []
    for path in labels:
        label = texts.get(path, "").strip()
        seen.append(label)
        m = _LABEL.search(path)
        if m and label.lower() == rail.lower():
            d, n = posixpath.dirname(path), m.group(1)
            return posixpath.join(d, f"in{n}_input"), posixpath.join(d, f"curr{n}_input")
    return None, seen


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    rail = cfg.rail or ""
    volt_path, cur_or_seen = find_rail(transport, cfg.hwmon_glob, rail)
    pp = PowerPlan(source="ina3221", tier=cfg.tier)
    if volt_path is None:
        pp.errors.append(f"power: ina3221 rail {rail!r} not found under {cfg.hwmon_glob} (labels: {cur_or_seen})")
        return pp
    cur_path = str(cur_or_seen)
    pp.detail = f"ina3221 rail {rail} ({posixpath.dirname(volt_path)})"
    pp.ctx = {"voltage_path": volt_path, "current_path": cur_path}
    pp.specs = [
        {"name": "power.current", "kind": "file", "path": cur_path, "interval_s": cfg.interval_s},
        {"name": "power.voltage", "kind": "file", "path": volt_path, "interval_s": cfg.interval_s},
    ]
    return pp


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    cv = read_current_voltage(probes)  # mA and mV
    errors = [f"power: ina3221: {e}" for e in (cv.current_error, cv.voltage_error) if e]
    if not cv.t.size:
        return PowerSeries.empty(*(errors or ["power: ina3221 probes returned no numbers"]))
    return PowerSeries(cv.t, cv.current * cv.voltage / 1e6, errors)
