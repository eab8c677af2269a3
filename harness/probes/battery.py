"""Android (or any Linux) battery fuel gauge: current_now x voltage_now.

The kernel documents µA/µV, but vendors differ in unit and sign: the profile declares
``current_unit``, ``voltage_unit`` and ``discharge_sign`` (the sign current_now has while
discharging), calibrated once per device. Readings mean something only with charging off
or an external meter inline; the method string says which.
"""

from __future__ import annotations

import numpy as np

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, probe_values, to_floats
from harness.transport.base import Transport

CURRENT_SCALE = {"uA": 1e-6, "mA": 1e-3, "A": 1.0}
VOLTAGE_SCALE = {"uV": 1e-6, "mV": 1e-3, "V": 1.0}


def plan(cfg: PowerConfig, transport: Transport) -> PowerPlan:
    charging = "charging disabled" if cfg.charging_disabled else "CHARGING NOT DISABLED (charger current mixed in)"
    pp = PowerPlan(
        source="battery",
        tier=cfg.tier,
        detail=f"fuel gauge current_now x voltage_now ({cfg.current_unit}, {cfg.voltage_unit}, "
        f"discharge sign {cfg.discharge_sign:+d}); {charging}",
        specs=[
            {"name": "power.current", "kind": "file", "path": cfg.current_path, "interval_s": cfg.interval_s},
            {"name": "power.voltage", "kind": "file", "path": cfg.voltage_path, "interval_s": cfg.interval_s},
        ],
    )
    if not cfg.charging_disabled and cfg.quality is None:
        pp.errors.append("power: battery source with charging enabled; readings are not the device's draw")
    return pp


def watts(current: np.ndarray, voltage: np.ndarray, cfg: PowerConfig) -> np.ndarray:
    """Discharge power in W from raw readings in the declared units and sign."""
    amps = current * CURRENT_SCALE[cfg.current_unit] * cfg.discharge_sign
    volts = voltage * VOLTAGE_SCALE[cfg.voltage_unit]
    return amps * volts


def parse(cfg: PowerConfig, pp: PowerPlan, probes: dict) -> PowerSeries:
    t_i, raw_i, err_i = probe_values(probes, "power.current")
    t_v, raw_v, err_v = probe_values(probes, "power.voltage")
    errors = [f"power: {cfg.current_path}: {e}" for e in [err_i] if e]
    errors += [f"power: {cfg.voltage_path}: {e}" for e in [err_v] if e]
    t_i, cur = to_floats(raw_i, t_i)
    t_v, volt = to_floats(raw_v, t_v)
    if not cur.size or not volt.size:
        return PowerSeries.empty(*(errors or ["power: battery probes returned no numbers"]))
    # the two files are read by separate samplers: pair each current with the voltage at its time
    order = np.argsort(t_v)
    v_at = np.interp(t_i, t_v[order], volt[order])
    series = PowerSeries(t_i, watts(cur, v_at, cfg), errors)
    if (series.w < 0).mean() > 0.5:
        series.errors.append(
            "power: battery reads as charging (negative discharge power) for most samples: "
            "charger connected or discharge_sign wrong for this device"
        )
    return series
