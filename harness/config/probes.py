"""Probe declarations in a device profile: power, thermal, memory, clocks.

Owned by the probes package (harness/probes/) which turns these into agent probe specs
and parses what the agent sampled.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PowerSource = Literal["none", "battery", "ina3221", "tegrastats", "pi5-pmic", "powermetrics", "rapl", "command"]


class PowerConfig(_Strict):
    source: PowerSource = "none"
    # battery: sysfs fuel gauge (units and sign vary by vendor: calibrate, then declare)
    current_path: str = "/sys/class/power_supply/battery/current_now"
    voltage_path: str = "/sys/class/power_supply/battery/voltage_now"
    current_unit: Literal["uA", "mA", "A"] = "uA"
    voltage_unit: Literal["uV", "mV", "V"] = "uV"
    discharge_sign: Literal[1, -1] = 1  # sign of current_now while discharging
    charging_disabled: bool = False  # the lab turned charging off (root) for this device
    # ina3221 / tegrastats / pi5-pmic: which rail
    rail: str | None = None  # e.g. VDD_IN (Jetson), EXT5V_V (Pi 5)
    # rapl
    energy_path: str = "/sys/class/powercap/intel-rapl:0/energy_uj"
    # command: an external meter printing one sample per line ("<watts>" or "<t> <watts>")
    argv: list[str] = Field(default_factory=list)
    interval_s: float = Field(default=0.1, gt=0)
    idle_s: float = Field(default=0.0, ge=0)  # idle baseline window before measuring
    quality: Literal["external", "rail", "battery", "estimate"] | None = None  # override the tier


class ThermalConfig(_Strict):
    zones: list[str] = Field(default_factory=list)  # sysfs paths or globs of thermal_zone*/temp
    max_start_temp_c: float | None = None  # gate: wait for the device to cool below this
    cooldown_max_s: float = Field(default=120.0, ge=0)
    cooldown_poll_s: float = Field(default=5.0, gt=0)


class ProbesConfig(_Strict):
    power: PowerConfig = Field(default_factory=PowerConfig)
    thermal: ThermalConfig = Field(default_factory=ThermalConfig)
