"""Android (or any Linux) battery fuel gauge: current_now x voltage_now.

The kernel documents µA/µV, but vendors differ in unit and sign: the profile declares
``current_unit``, ``voltage_unit`` and ``discharge_sign`` (the sign current_now has while
discharging), calibrated once per device. Readings mean something only with charging off
or an external meter inline; the method string says which.
"""

from __future__ import annotations

import numpy as np

from harness.config.probes import PowerConfig
from harness.probes.power import PowerPlan, PowerSeries, read_current_voltage
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
    cv = read_current_voltage(probes)
    errors = [f"power: {cfg.current_path}: {e}" for e in [cv.current_error] if e]
    errors += [f"power: {cfg.voltage_path}: {e}" for e in [cv.voltage_error] if e]
    if not cv.t.size:
        return PowerSeries.empty(*(errors or ["power: battery probes returned no numbers"]))
    series = PowerSeries(cv.t, watts(cv.current, cv.voltage, cfg), errors)
    if (series.w < 0).mean() > 0.5:
        series.errors.append(
            "power: battery reads as charging (negative discharge power) for most samples: "
            "charger connected or discharge_sign wrong for this device"
        )
    return series


def suggest_convention(transport: Transport, battery_dir: str = "/sys/class/power_supply/battery") -> dict[str, object]:
    """Guess units and discharge sign from one reading while the battery reports Discharging.

    Phones draw ~0.05-5 A at 3.4-4.5 V, so magnitudes tell µA from mA and µV from mV; the
    sign of current_now while ``status`` is Discharging is the device's discharge sign.
    A starting point for the profile, to confirm with an external meter.
    """
    from harness.probes import devicefs

    names = ("status", "current_now", "voltage_now")
    paths = [f"{battery_dir}/{n}" for n in names]
    raw = devicefs.read_first_lines(transport, paths)
    status, cur, volt = (raw.get(p, "") for p in paths)
    out: dict[str, object] = {"status": status or None}
    try:
        i, v = float(cur), float(volt)
    except ValueError:
        out["error"] = f"unreadable current_now={cur!r} voltage_now={volt!r} under {battery_dir}"
        return out
    out["current_unit"] = "uA" if abs(i) >= 20_000 else "mA"
    out["voltage_unit"] = "uV" if v >= 100_000 else "mV"
    if status.lower() == "discharging" and i != 0:
        out["discharge_sign"] = 1 if i > 0 else -1
    else:
        out["note"] = "unplug the device (status must be Discharging) to learn the sign"
    return out
