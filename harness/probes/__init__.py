"""Probes: what the device can tell about power, heat, memory and clocks.

The session calls three hooks per cell (see harness/session):
  plan_probes(cfg, transport) -> ProbePlan          what the agent should sample
  thermal_gate(cfg, transport) -> GateResult        wait (bounded) for a cool start
  interpret(cfg, plan, result, inferences) -> ProbeOutcome   raw samples -> metrics

Everything device-side is resolved ON the device through the transport (globs, hwmon
labels), so local, ssh and adb behave the same. The agent only records raw text with
device-monotonic timestamps; parsing (units, signs, rails) happens here, one module per
source:

  power sources   battery (fuel gauge), ina3221 (Jetson hwmon rails), tegrastats,
                  pi_pmic (Pi 5 vcgencmd pmic_read_adc), powermetrics (macOS), rapl
                  (x86 energy_uj, wrap-around), external (a meter command)
  power.py        window arithmetic: average W, idle baseline, energy/inference net of idle
  thermal.py      zones (m°C), start/max/end temperature, the start gate
  throttling.py   cooling devices, Pi get_throttled bits, Android thermal status
  clocks.py       cpufreq policies, governor, caps, clock commands (info, not fingerprint)
  memory.py       agent VmHWM/ru_maxrss, Android `dumpsys meminfo` PSS for native runners
  contention.py   CPU time other processes took during the steady windows (host_contention_cores)
  timeline.py     latency/temperature/power over time (the `sustained` command)

Quality tiers, best first: external > rail > battery > estimate; with no source, power
metrics are absent (never zero). The tier leads each power metric's method string
("rail:ina3221 ..."). Flags starting with "throttled:" mark a throttled cell.

Battery calibration: run ``battery.suggest_convention(transport)`` once on the unplugged
device, confirm with a meter, and write current_unit / voltage_unit / discharge_sign
into the profile.
"""

from harness.probes.hooks import GateResult, ProbeOutcome, ProbePlan, interpret, plan_probes, thermal_gate

__all__ = ["GateResult", "ProbeOutcome", "ProbePlan", "interpret", "plan_probes", "thermal_gate"]
