"""Throttling sources: Pi get_throttled bits, Android thermal status, cooling devices, clocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config.probes import ClocksConfig, ProbesConfig, ThrottlingConfig
from harness.probes import clocks, interpret, plan_probes, throttling
from tests.probes import formats


@pytest.mark.parametrize(
    ("text", "now", "since"),
    [
        ("throttled=0x0", [], []),
        ("throttled=0x50005", ["under-voltage", "throttled"], ["under-voltage", "throttled"]),
        ("throttled=0x80000", [], ["soft temperature limit"]),
        (
            "throttled=0xf000f",
            ["under-voltage", "arm frequency capped", "throttled", "soft temperature limit"],
            ["under-voltage", "arm frequency capped", "throttled", "soft temperature limit"],
        ),
    ],
)
def test_pi_get_throttled_bits(text, now, since):
    value = throttling.parse_get_throttled(text)
    assert throttling.pi_bits(value) == (now, since)


def test_pi_since_boot_only_is_info_but_new_during_cell_is_flagged():
    flags, info = throttling.pi_flags(["throttled=0x50000", "throttled=0x50000"])
    assert flags == [] and "under-voltage" in info["since_boot"]
    flags, _ = throttling.pi_flags(["throttled=0x0", "throttled=0x40000"])
    assert flags and flags[0].startswith("throttled:") and "occurred during the cell" in flags[0]
    flags, _ = throttling.pi_flags(["throttled=0x0", "throttled=0x40004"])
    assert flags == ["throttled: Pi get_throttled reports throttled during the cell"]


@pytest.mark.parametrize(("status", "flagged"), [(0, False), (1, True), (3, True)])
def test_android_thermal_status(status, flagged):
    text = formats.THERMALSERVICE.format(status=status)
    assert throttling.parse_thermal_status(text) == status
    flags, info = throttling.android_flags([text])
    assert bool(flags) == flagged and info["android_thermal_status_max"] == status


def test_cooling_devices_resolved_by_type_and_active_state_flagged(dev, local):
    dev.cooling(0, "thermal-cpufreq-0", 0, 15)
    dev.cooling(1, "thermal-cpufreq-4", 3, 17)
    dev.cooling(2, "battery", 1, 5)
    cfg = ThrottlingConfig(cooling_devices=dev.path("/sys/class/thermal/cooling_device*"), cooling_types=["cpufreq"])
    _, snaps = throttling.plan_specs(cfg, local)
    assert sorted(snaps) == [
        "cooling/thermal-cpufreq-0#cooling_device0/cur_state",
        "cooling/thermal-cpufreq-0#cooling_device0/max_state",
        "cooling/thermal-cpufreq-4#cooling_device1/cur_state",
        "cooling/thermal-cpufreq-4#cooling_device1/max_state",
    ]
    before = {k: Path(p).read_text().strip() for k, p in snaps.items()}
    flags, info = throttling.cooling_flags({"before": before, "after": before})
    assert flags == ["throttled: cooling device thermal-cpufreq-4#cooling_device1 active before (3/17) and after (3/17) the cell"]


def clock_result(before_max, after_max, sampled_khz, governor="performance"):
    def snap(mx):
        return {
            "cpufreq/policy4/scaling_governor": governor,
            "cpufreq/policy4/scaling_max_freq": str(mx),
            "cpufreq/policy4/cpuinfo_max_freq": "2400000",
            "cpufreq/policy4/scaling_cur_freq": str(mx),
        }

    return {
        "snapshots": {"before": snap(before_max), "after": snap(after_max)},
        "windows": {"idle": [0, 1], "latency_ms": [2.0, 4.0]},
        "probes": {"clocks": {"t": [0.5, 2.5, 3.5], "v": [f"==> /p/policy4/scaling_cur_freq <==\n{k}\n" for k in sampled_khz]}},
    }


def test_clock_cap_lowered_during_the_cell_is_throttling():
    flags, info = clocks.interpret(ClocksConfig(), ["/p/policy4"], clock_result(2400000, 1800000, [0, 2400000, 1800000]))
    assert flags == ["throttled: policy4 max frequency capped 2.40 -> 1.80 GHz during the cell"]
    assert info["policies"]["policy4"]["before"]["scaling_governor"] == "performance"


def test_frequency_below_max_in_window_is_throttling_only_when_pinned():
    res = clock_result(2400000, 2400000, [300000, 2400000, 1200000])  # 300 MHz is outside the window (idle)
    flags, info = clocks.interpret(ClocksConfig(), ["/p/policy4"], res)
    assert flags == [] and info["policies"]["policy4"]["window_khz"]["min"] == 1200000
    flags, _ = clocks.interpret(ClocksConfig(expect_max=True), ["/p/policy4"], res)
    assert flags == ["throttled: policy4 at 1.20/2.40 GHz in the measured window"]
    flags, _ = clocks.interpret(
        ClocksConfig(expect_max=True), ["/p/policy4"], clock_result(2400000, 2400000, [0, 2400000, 2350000])
    )
    assert flags == []


def test_clock_commands_run_before_the_cell(dev, local):
    dev.command("nvpmodel", 'echo "NV Power Mode: MAXN"; echo 0\n')
    info = clocks.run_commands(ClocksConfig(commands={"nvpmodel": ["nvpmodel", "-q"], "bad": ["false"]}), local)
    assert info["nvpmodel"] == "NV Power Mode: MAXN\n0" and info["bad"]["rc"] == 1


def test_a_throttled_cell_is_flagged(dev, local):
    """The whole hook path: a device whose Pi bits say 'throttled now' during the cell."""
    dev.command("vcgencmd", 'echo "throttled=0x50005"\n')
    dev.zone(0, "cpu-thermal", 81500)
    dev.policy(0, "performance", 1500000, 2400000, 2400000)
    cfg = ProbesConfig.model_validate(
        {
            "thermal": {"zones": [dev.path("/sys/class/thermal/thermal_zone*/temp")]},
            "throttling": {"pi_get_throttled": True},
            "clocks": {"cpufreq": dev.path("/sys/devices/system/cpu/cpufreq/policy*"), "expect_max": True},
        }
    )
    plan = plan_probes(cfg, local)
    names = [s["name"] for s in plan.specs]
    assert names == ["thermal", "throttle.pi", "clocks"]
    # what the agent would record: run each command probe once inside the window
    probes = {
        s["name"]: {"t": [2.0], "v": [local.exec(s["argv"]).stdout.strip()], "overhead_s": 0.01, "error": None}
        for s in plan.specs
    }
    snaps = {k: Path(p).read_text().strip() for k, p in plan.snapshots.items()}
    result = {"probes": probes, "snapshots": {"before": snaps, "after": snaps}, "windows": {"latency_ms": [1.0, 3.0]}}
    out = interpret(cfg, plan, result, 10)
    assert out.throttled
    assert "throttled: Pi get_throttled reports under-voltage, throttled during the cell" in out.flags
    assert "throttled: policy0 at 1.50/2.40 GHz in the measured window" in out.flags
    temps = {m.name: m.value for m in out.metrics if m.name.startswith("temp_")}
    assert temps == {"temp_start_c": 81.5, "temp_max_c": 81.5, "temp_end_c": 81.5}
    assert not any(m.name.startswith("power") for m in out.metrics)  # no source: absent, never zero
    assert {m.name: m.value for m in out.metrics}["probe_overhead_s"] == pytest.approx(0.03)
