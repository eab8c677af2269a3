"""The whole path with the REAL agent: probe specs from plan_probes, sampled by the agent
on a tiny ONNX model, interpreted back into power, net energy, temperatures and flags."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.config.probes import ProbesConfig
from harness.probes import interpret, plan_probes
from tests.probes.agent_job import AGENT, make_job, tiny_inputs, tiny_model
from tests.probes.battery_sim import IDLE_UA, PER_CORE_UA, VOLTAGE_UV, BatterySim


@pytest.mark.slow
def test_real_agent_reports_power_and_net_energy_from_a_simulated_battery(dev, local, tmp_path):
    sim = BatterySim(Path(dev.path("/sys/class/power_supply/battery")))
    dev.zone(0, "cpu-0-0-usr", 41000)
    dev.zone(1, "battery", 29000)
    dev.cooling(0, "thermal-cpufreq-0", 2, 15)  # a cooling device already active: must be flagged
    dev.policy(0, "schedutil", 1800000, 2400000, 2400000)
    dev.command("vcgencmd", 'echo "throttled=0x50000"\n')  # since-boot bits only: info, not a flag
    cfg = ProbesConfig.model_validate(
        {
            "power": {
                "source": "battery",
                "discharge_sign": -1,
                "charging_disabled": True,
                "current_path": dev.path("/sys/class/power_supply/battery/current_now"),
                "voltage_path": dev.path("/sys/class/power_supply/battery/voltage_now"),
                "interval_s": 0.05,
                "idle_s": 1.0,
            },
            "thermal": {"zones": [dev.path("/sys/class/thermal/thermal_zone*/temp")], "interval_s": 0.2},
            "throttling": {"cooling_devices": dev.path("/sys/class/thermal/cooling_device*"), "pi_get_throttled": True},
            "clocks": {"cpufreq": dev.path("/sys/devices/system/cpu/cpufreq/policy*"), "interval_s": 0.2},
        }
    )
    plan = plan_probes(cfg, local)
    assert plan.idle_s == 1.0 and not plan.errors
    model = tiny_model(tmp_path / "tiny.onnx")
    inputs = tiny_inputs(tmp_path / "inputs.npz")
    out_dir = tmp_path / "out"
    job = make_job(str(model), str(inputs), plan, str(out_dir))
    (tmp_path / "job.json").write_text(json.dumps(job))
    proc = subprocess.Popen([sys.executable, str(AGENT), str(tmp_path / "job.json")], stderr=subprocess.PIPE, text=True)
    sim.start(proc.pid)
    _, err = proc.communicate(timeout=120)
    sim.stop()
    assert proc.returncode == 0, err
    result = json.loads((out_dir / "result.json").read_text())
    inferences = len(result["series"]["latency_ms"]["samples"])

    out = interpret(cfg, plan, result, inferences)

    m = {x.name: x for x in out.metrics}
    idle_w, busy_w = m["power_idle_w"].value, m["power_w"].value
    floor_w = IDLE_UA * 1e-6 * VOLTAGE_UV * 1e-6  # 1.196 W: the simulated battery's idle draw
    ceiling_w = (IDLE_UA + 2 * PER_CORE_UA) * 1e-6 * VOLTAGE_UV * 1e-6  # both cores busy
    # units (µA x µV -> W) and sign (negative current_now while discharging -> positive watts)
    assert floor_w * 0.999 <= idle_w < busy_w <= ceiling_w
    assert m["power_w"].unit == "W" and m["power_w"].method.startswith("battery:battery")
    assert "charging disabled" in m["power_w"].method
    # net of idle: (P_steady - P_idle) x window / inferences, in mJ
    t0, t1 = result["windows"]["latency_ms"]
    e = m["energy_mj_per_inference"]
    assert e.unit == "mJ" and "net of idle" in e.method
    assert e.value == pytest.approx((busy_w - idle_w) * (t1 - t0) / inferences * 1000, rel=1e-9)
    assert e.value > 0
    assert out.samples["power_w"].size >= 10  # samples kept for noisy comparison
    assert np.all(out.samples["power_w"] > 0)
    # temperatures, throttling, clocks, sampler overhead
    assert (m["temp_start_c"].value, m["temp_max_c"].value, m["temp_end_c"].value) == (41.0, 41.0, 41.0)
    assert out.throttled and any("cooling device thermal-cpufreq-0" in f for f in out.flags)
    assert not any("get_throttled" in f for f in out.flags)
    assert out.info["throttling"]["since_boot"] == ["under-voltage", "throttled"]
    assert out.info["clocks"]["policies"]["policy0"]["before"]["scaling_governor"] == "schedutil"
    assert set(out.info["probe_overhead_s"]) == {"power.current", "power.voltage", "thermal", "throttle.pi", "clocks"}
    assert m["probe_overhead_s"].value > 0
