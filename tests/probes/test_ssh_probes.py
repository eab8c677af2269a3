"""Probe planning and the thermal gate through the real OpenSSH rig: globs expand on the
remote side, headers parse, and a zone that stays above the gate ends in "gated"."""

from __future__ import annotations

import pytest

from harness.config.probes import ProbesConfig
from harness.probes import plan_probes, thermal_gate
from harness.transport.factory import open_transport
from tests.probes.battery_sim import battery_power
from tests.rigs.devicetree import device_path


@pytest.mark.rig
def test_plan_and_gate_over_ssh(sshd_rig, ssh_device):
    root = sshd_rig.root
    cfg = ProbesConfig.model_validate(
        {
            "power": battery_power(root, discharge_sign=-1, charging_disabled=True),
            "thermal": {
                "zones": [device_path(root, "/sys/class/thermal/thermal_zone*/temp")],
                "max_start_temp_c": 40,
                "cooldown_max_s": 0.3,
                "cooldown_poll_s": 0.1,
            },
        }
    )
    with open_transport(ssh_device) as t:
        plan = plan_probes(cfg, t)
        gate = thermal_gate(cfg, t)
    assert sorted(plan.zones.values()) == ["battery", "cpu-0-0"]
    assert [s["name"] for s in plan.specs] == ["power.current", "power.voltage", "thermal"]
    assert plan.snapshots["thermal/cpu-0-0"].endswith("thermal_zone0/temp")
    # the rig's cpu zone sits at 41.2 C, above the 40 C gate, and never cools
    assert gate.status == "gated" and gate.start_temp_c == 41.2
    assert 0.3 <= gate.waited_s < 10 and "cpu-0-0" in gate.reason
