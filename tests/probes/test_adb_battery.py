"""A simulated phone battery read through the ADB rig (real adb server, Python adbd).

plan_probes and thermal_gate resolve the sysfs tree THROUGH adb; the real agent runs via
``adb shell``; the rig's battery follows the agent's CPU load (current_now in µA, negative
while discharging, as the rig's phone-shaped tree has it).
"""

from __future__ import annotations

import json
import posixpath
import sys
from pathlib import Path

import pytest

from harness.config.probes import ProbesConfig
from harness.probes import interpret, plan_probes, thermal_gate
from harness.transport.factory import open_transport
from tests.probes.agent_job import AGENT, make_job, tiny_inputs, tiny_model
from tests.probes.battery_sim import IDLE_UA, SIM_PHONE, VOLTAGE_UV, BatterySim, battery_power
from tests.rigs.devicetree import device_path


@pytest.mark.slow
@pytest.mark.rig
def test_simulated_battery_through_the_adb_rig(adb_rig, adb_device, tmp_path):
    root = adb_rig.root
    battery_dir = Path(device_path(root, "/sys/class/power_supply/battery"))
    saved = {f: (battery_dir / f).read_text() for f in ("current_now", "voltage_now")}
    cfg = ProbesConfig.model_validate(
        {
            "power": battery_power(root, **SIM_PHONE),
            "thermal": {
                "zones": [device_path(root, "/sys/class/thermal/thermal_zone*/temp")],
                "zone_types": ["cpu"],
                "max_start_temp_c": 45,
                "cooldown_max_s": 1,
                "cooldown_poll_s": 0.1,
            },
        }
    )
    sim = BatterySim(battery_dir)
    transport = open_transport(adb_device)
    try:
        gate = thermal_gate(cfg, transport)
        assert (gate.status, gate.start_temp_c, gate.waited_s) == ("ok", 41.2, 0.0)  # the rig's cpu-0-0 zone
        plan = plan_probes(cfg, transport)
        assert list(plan.zones.values()) == ["cpu-0-0"] and not plan.errors
        agent = transport.push(AGENT).remote
        model = transport.push(tiny_model(tmp_path / "tiny.onnx")).remote
        inputs = transport.push(tiny_inputs(tmp_path / "inputs.npz")).remote
        job_dir = posixpath.join(transport.workdir, "jobs", "probes-battery")
        transport.makedirs(job_dir)
        job_path = posixpath.join(job_dir, "job.json")
        transport.write_text(job_path, json.dumps(make_job(model, inputs, plan, job_dir)))
        sim.start_matching(job_path)
        res = transport.exec([sys.executable, agent, job_path], timeout=120)
        sim.stop()
        assert res.rc == 0, res.stderr
        assert sim.pid is not None  # the simulator followed the agent's process
        result = json.loads(transport.read_text(posixpath.join(job_dir, "result.json")) or "{}")
    finally:
        sim.stop()
        for f, text in saved.items():
            (battery_dir / f).write_text(text)
        transport.close()
    n = len(result["series"]["latency_ms"]["samples"])
    out = interpret(cfg, plan, result, n)
    m = {x.name: x for x in out.metrics}
    idle_floor = IDLE_UA * 1e-6 * VOLTAGE_UV * 1e-6
    assert idle_floor * 0.999 <= m["power_idle_w"].value < m["power_w"].value
    assert m["power_w"].method.startswith("battery:") and m["power_w"].unit == "W"
    t0, t1 = result["windows"]["latency_ms"]
    expected = (m["power_w"].value - m["power_idle_w"].value) * (t1 - t0) / n * 1000
    assert m["energy_mj_per_inference"].value == pytest.approx(expected, rel=1e-9)
    assert m["energy_mj_per_inference"].value > 0
    assert m["temp_max_c"].value == 41.2
