"""`harness run` on the ADB rig with a simulated battery: the stored cell carries average
power, idle power and energy per inference net of idle, in W / W / mJ, each with its method."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.results.store import Store
from tests.helpers import tiny_mlp_workload, tiny_workloads
from tests.probes.battery_sim import IDLE_UA, SIM_PHONE, VOLTAGE_UV, BatterySim, battery_power
from tests.rigs.devicetree import device_path

WORKLOAD = tiny_mlp_workload("tiny-power", {"warmup": 2, "warmup_s": 0.1, "min_iterations": 20, "min_seconds": 1.5,
                                            "max_seconds": 4}, input_range=None)


@pytest.mark.slow
@pytest.mark.rig
def test_harness_run_reports_power_and_net_energy_over_adb(adb_rig, adb_device_yaml, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    workloads = tiny_workloads(tmp_path, WORKLOAD)
    root = adb_rig.root
    profile = yaml.safe_load(adb_device_yaml.read_text())
    profile["probes"] = {
        "power": battery_power(root, **SIM_PHONE),
        "thermal": {"zones": [device_path(root, "/sys/class/thermal/thermal_zone*/temp")], "max_start_temp_c": 45},
    }
    adb_device_yaml.write_text(yaml.safe_dump(profile))
    battery_dir = Path(device_path(root, "/sys/class/power_supply/battery"))
    saved = {f: (battery_dir / f).read_text() for f in ("current_now", "voltage_now")}
    sim = BatterySim(battery_dir)
    sim.start_matching("/job.json", prefix=adb_rig.workdir)
    try:
        res = CliRunner().invoke(
            app, ["run", "-d", str(adb_device_yaml), "--workloads-dir", str(workloads), "--no-report"], env={"COLUMNS": "200"}
        )
    finally:
        sim.stop()
        for f, text in saved.items():
            (battery_dir / f).write_text(text)
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert sim.pid is not None
    store = Store(os.environ["HARNESS_STORE"])
    run_id = store.list_runs()[0]["run_id"]
    cell = store.cells_frame([run_id]).iloc[0]
    assert cell["status"] == "ok" and cell["transport"] == "adb", cell["error"]
    m = store.metrics_frame([run_id]).set_index("metric")
    power, idle, energy = (m.loc[k] for k in ("power_w", "power_idle_w", "energy_mj_per_inference"))
    assert (power["unit"], idle["unit"], energy["unit"]) == ("W", "W", "mJ")
    assert power["method"].startswith("battery:battery") and "charging disabled" in power["method"]
    assert "net of idle" in energy["method"]
    assert IDLE_UA * 1e-6 * VOLTAGE_UV * 1e-6 * 0.999 <= idle["value"] < power["value"]
    result = json.loads(cell["result_json"])
    (t0, t1) = result["windows"]["latency_ms@b1"]
    n = int(m.loc["latency_ms@b1.n", "value"])
    assert energy["value"] == pytest.approx((power["value"] - idle["value"]) * (t1 - t0) / n * 1000, rel=1e-6)
    assert energy["value"] > 0
    samples = store.samples_for([int(cell["id"])], "power_w")
    assert next(iter(samples.values())).size >= 10
    assert m.loc["temp_max_c", "value"] == 41.2 and result["thermal_gate"]["status"] == "ok"
