"""Thermal zones read on the device and the start-temperature gate (bounded wait)."""

from __future__ import annotations

import pytest

from harness.config.probes import ProbesConfig, ThermalConfig
from harness.probes import thermal, thermal_gate


@pytest.mark.parametrize(
    ("raw", "c"), [("45123", 45.123), ("-5000", -5.0), ("38", 38.0), ("-273000", None), ("65535000", None), ("x", None)]
)
def test_to_celsius(raw, c):
    assert thermal.to_celsius(raw) == (pytest.approx(c) if c is not None else None)


def test_zones_resolved_and_filtered_by_type(dev, local):
    dev.zone(0, "cpu-0-0-usr", 41000)
    dev.zone(1, "battery", 29000)
    dev.zone(2, "gpuss-0-usr", 39000)
    dev.zone(3, "cpu-0-0-usr", 43000)  # a repeated type gets a unique label
    cfg = ThermalConfig(zones=[dev.path("/sys/class/thermal/thermal_zone*/temp")], zone_types=["cpu", "gpu"])
    zones = thermal.resolve_zones(cfg, local)
    assert sorted(zones.values()) == ["cpu-0-0-usr", "cpu-0-0-usr#thermal_zone3", "gpuss-0-usr"]
    assert thermal.read_temps(local, zones) == {"cpu-0-0-usr": 41.0, "gpuss-0-usr": 39.0, "cpu-0-0-usr#thermal_zone3": 43.0}


def gate_cfg(dev, limit, max_s, poll_s):
    return ProbesConfig.model_validate(
        {
            "thermal": {
                "zones": [dev.path("/sys/class/thermal/thermal_zone*/temp")],
                "max_start_temp_c": limit,
                "cooldown_max_s": max_s,
                "cooldown_poll_s": poll_s,
            }
        }
    )


def test_gate_passes_a_cool_device_without_waiting(dev, local):
    dev.zone(0, "cpu", 35000)
    got = thermal_gate(gate_cfg(dev, 45, 5, 0.05), local)
    assert (got.status, got.waited_s, got.start_temp_c) == ("ok", 0.0, 35.0)


def test_gate_waits_while_hot_then_gates_bounded(dev, local):
    dev.zone(0, "cpu", 38000)
    dev.zone(1, "skin", 52500)  # stays above the gate
    got = thermal_gate(gate_cfg(dev, 45, 0.3, 0.05), local)
    assert got.status == "gated"
    assert 0.3 <= got.waited_s < 5.0  # waited its bound, not forever
    assert got.start_temp_c == 52.5
    assert "skin" in got.reason and "52.5" in got.reason and "max_start_temp_c 45" in got.reason


def test_gate_waits_until_the_device_cools(dev, local):
    dev.zone(0, "cpu", 60000)
    zones = thermal.resolve_zones(gate_cfg(dev, 45, 30, 0.01).thermal, local)
    reads = []

    def read():
        reads.append(thermal.read_temps(local, zones))
        dev.zone(0, "cpu", 40000)  # the device cools after the gate has seen it hot once
        return reads[-1]

    got = thermal.wait_cool(read, 45.0, 30.0, 0.01)
    assert [r["cpu"] for r in reads] == [60.0, 40.0]
    assert got.status == "ok" and got.start_temp_c == 40.0 and got.waited_s > 0
    assert "cooled cpu 60.0 C -> cpu 40.0 C" in got.reason


def test_gate_without_readable_zone_is_unknown(dev, local):
    got = thermal_gate(gate_cfg(dev, 45, 1, 0.1), local)
    assert got.status == "unknown"


def test_no_gate_configured_is_ok(local):
    assert thermal_gate(ProbesConfig(), local).status == "ok"


def test_summary_start_max_end_from_snapshots_and_samples():
    zones = {"/z0/temp": "cpu", "/z1/temp": "skin"}
    result = {
        "snapshots": {
            "before": {"thermal/cpu": "41000", "thermal/skin": "30000"},
            "after": {"thermal/cpu": "47000", "thermal/skin": "31000"},
        },
        "probes": {
            "thermal": {
                "t": [1.0, 2.0],
                "v": [
                    "==> /z0/temp <==\n44000\n\n==> /z1/temp <==\n30500\n",
                    "==> /z0/temp <==\n-273000\n\n==> /z1/temp <==\n50000\n",
                ],
            }
        },
    }
    s = thermal.summarize(zones, result)
    got = {m.name: (m.value, m.unit) for m in s.metrics}
    assert got == {"temp_start_c": (41.0, "C"), "temp_max_c": (50.0, "C"), "temp_end_c": (47.0, "C")}
    assert s.info["series"] == {"t": [1.0, 2.0], "max_c": [44.0, 50.0]}
    assert all("thermal zone" in m.method for m in s.metrics)
