"""Probe declarations in a device profile: power, thermal, throttling, clocks.

Owned by the probes package (harness/probes/) which turns these into agent probe specs
and parses what the agent sampled. Every source says its units and sign convention here,
because vendors disagree (DESIGN.md "Devices: what real hardware exposes").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # a .nan interval is no setting


PowerSource = Literal["none", "battery", "ina3221", "tegrastats", "pi5-pmic", "powermetrics", "rapl", "command"]
Quality = Literal["external", "rail", "battery", "estimate"]

# Quality tiers, best first. "none" is never written: with no source, power is absent.
QUALITY_ORDER: tuple[str, ...] = ("external", "rail", "battery", "estimate")

DEFAULT_QUALITY: dict[str, Quality] = {
    "battery": "battery",
    "ina3221": "rail",
    "tegrastats": "rail",
    "pi5-pmic": "rail",
    "rapl": "rail",
    "powermetrics": "estimate",  # Apple's SoC energy model, not a shunt
    "command": "external",
}


class PowerConfig(_Strict):
    source: PowerSource = "none"
    # battery: sysfs fuel gauge (units and sign vary by vendor: calibrate, then declare)
    current_path: str = "/sys/class/power_supply/battery/current_now"
    voltage_path: str = "/sys/class/power_supply/battery/voltage_now"
    current_unit: Literal["uA", "mA", "A"] = "uA"
    voltage_unit: Literal["uV", "mV", "V"] = "uV"
    discharge_sign: Literal[1, -1] = 1  # sign of current_now while discharging
    charging_disabled: bool = False  # the lab turned charging off (root) for this device
    # ina3221 / tegrastats / pi5-pmic: which rail (pi5-pmic: None sums every paired rail)
    rail: str | None = None  # e.g. VDD_IN (Jetson), VDD_CORE (Pi 5)
    # ina3221: where the hwmon dirs live (the hwmon number moves between boots)
    hwmon_glob: str = "/sys/bus/i2c/drivers/ina3221/*/hwmon/hwmon*"
    # rapl
    energy_path: str = "/sys/class/powercap/intel-rapl:0/energy_uj"
    max_energy_path: str | None = None  # default: max_energy_range_uj beside energy_path
    # tegrastats / powermetrics / pi5-pmic / command: the tool's argv (defaults per source)
    # command: an external meter printing one sample per line ("<watts>" or "<t> <watts>")
    argv: list[str] = Field(default_factory=list)
    command_unit: Literal["W", "mW"] = "W"
    interval_s: float = Field(default=0.1, gt=0)
    idle_s: float = Field(default=2.0, ge=0)  # idle baseline window before measuring
    quality: Quality | None = None  # override the tier (e.g. battery with a lab meter inline)

    @model_validator(mode="after")
    def _source_needs(self) -> PowerConfig:
        if self.source == "command" and not self.argv:
            raise ValueError("power source 'command' needs argv (the meter command)")
        if self.source in ("ina3221", "tegrastats") and not self.rail:
            raise ValueError(f"power source {self.source!r} needs rail (e.g. VDD_IN)")
        return self

    @property
    def tier(self) -> str:
        if self.source == "none":
            return "none"
        return self.quality or DEFAULT_QUALITY[self.source]


class ThermalConfig(_Strict):
    zones: list[str] = Field(default_factory=list)  # sysfs paths or globs of thermal_zone*/temp (m°C)
    zone_types: list[str] = Field(default_factory=list)  # keep zones whose type contains one of these
    interval_s: float = Field(default=1.0, gt=0)  # sampling during the cell
    max_start_temp_c: float | None = None  # gate: wait for the device to cool below this
    cooldown_max_s: float = Field(default=120.0, ge=0)
    cooldown_poll_s: float = Field(default=5.0, gt=0)


class ThrottlingConfig(_Strict):
    """Sources that say a cell ran throttled; any hit flags the cell."""

    cooling_devices: str | None = None  # glob of cooling_device* dirs (cur_state > 0 = active)
    cooling_types: list[str] = Field(default_factory=list)  # only these cooling types (substring)
    pi_get_throttled: bool = False  # `vcgencmd get_throttled` bits 0-3 now, 16-19 since boot
    android_thermal_status: bool = False  # `dumpsys thermalservice` "Thermal Status: N" > 0
    status_interval_s: float = Field(default=2.0, gt=0)


class ClocksConfig(_Strict):
    """Clock and governor state, recorded as info (never part of the device fingerprint)."""

    cpufreq: str | None = None  # glob of cpufreq policy dirs, e.g. /sys/devices/system/cpu/cpufreq/policy*
    extra: dict[str, str] = Field(default_factory=dict)  # name -> file (e.g. GPU clock)
    commands: dict[str, list[str]] = Field(default_factory=dict)  # name -> argv (nvpmodel -q)
    interval_s: float = Field(default=1.0, gt=0)  # sampling of scaling_cur_freq during the cell
    # The profile pins the performance governor: a core below max in the window is throttling.
    expect_max: bool = False
    below_max_ratio: float = Field(default=0.95, gt=0, le=1)


class MemoryConfig(_Strict):
    """Memory beyond the runner's own peak RSS (which is always recorded)."""

    # Android: poll `dumpsys meminfo <runner pid>` during the cell and keep the peak TOTAL PSS,
    # the number Android itself accounts (a native runner has no Python VmHWM to report).
    pss: bool = False
    pss_interval_s: float = Field(default=0.5, gt=0)


class ProbesConfig(_Strict):
    power: PowerConfig = Field(default_factory=PowerConfig)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    thermal: ThermalConfig = Field(default_factory=ThermalConfig)
    throttling: ThrottlingConfig = Field(default_factory=ThrottlingConfig)
    clocks: ClocksConfig = Field(default_factory=ClocksConfig)
