"""`harness sustained`: one cell under load for N minutes; latency, temperature and power over time.

The device is this machine (local transport) with a fake thermal zone that a heater thread
warms throughout the run and an external meter script printing watts: fake files in the
real formats, proving the time alignment and the burst-vs-sustained split.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.results.store import Store
from tests.helpers import tiny_mlp_workload, tiny_workloads

WORKLOAD = tiny_mlp_workload("tiny-sustained", {"warmup": 2, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.1,
                                                "max_seconds": 1}, input_range=None)


class Heater:
    """Raises a thermal zone by 0.1 C every 20 ms while running (monotonic, never cools)."""

    def __init__(self, temp: Path) -> None:
        self.temp = temp
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        milli = 40000
        while not self.stop.wait(0.02):
            milli += 100
            tmp = self.temp.with_name("temp.tmp")
            tmp.write_text(f"{milli}\n")
            os.replace(tmp, self.temp)

    def __enter__(self) -> Heater:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


@pytest.mark.slow
def test_sustained_reports_latency_temperature_and_power_over_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    workloads = tiny_workloads(tmp_path, WORKLOAD)
    zone = tmp_path / "sys/class/thermal/thermal_zone0"
    zone.mkdir(parents=True)
    (zone / "type").write_text("cpu-thermal\n")
    (zone / "temp").write_text("40000\n")
    meter = tmp_path / "meter.sh"
    meter.write_text("#!/bin/sh\necho 'watts'\nwhile :; do echo 2.5; sleep 0.05; done\n")
    meter.chmod(0o755)
    device = {
        "name": "sustained-rig",
        "transport": {"kind": "local"},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 1, "inter_op": 1},
        "probes": {
            "power": {"source": "command", "argv": [str(meter)], "idle_s": 0.3},
            "thermal": {"zones": [str(tmp_path / "sys/class/thermal/thermal_zone*/temp")], "interval_s": 0.1},
        },
    }
    devices = tmp_path / "devices"
    devices.mkdir()
    (devices / "rig.yaml").write_text(yaml.safe_dump(device))
    out_json = tmp_path / "timeline.json"
    with Heater(zone / "temp"):
        res = CliRunner().invoke(
            app,
            [
                "sustained",
                "-d",
                "sustained-rig",
                "-w",
                "tiny-sustained",
                "--minutes",
                "0.05",
                "--slices",
                "3",
                "--burst-s",
                "0.5",
                "--devices-dir",
                str(devices),
                "--workloads-dir",
                str(workloads),
                "--json",
                str(out_json),
            ],
            env={"COLUMNS": "200"},
        )
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "burst vs sustained" in res.output and "sustained / burst p50" in res.output
    (tl,) = json.loads(out_json.read_text())["timelines"]
    assert tl["series"] == "latency_ms@b1" and tl["duration_s"] == pytest.approx(3.0, abs=0.5)
    slices = tl["slices"]
    assert len(slices) == 3 and all(s["n"] > 0 and s["p50_ms"] > 0 for s in slices)
    assert all(s["power_w"] == pytest.approx(2.5) for s in slices)  # the meter's watts, in its slice
    temps = [s["temp_max_c"] for s in slices]
    assert temps == sorted(temps) and temps[0] < temps[-1]  # the heater only warms: time is aligned
    assert tl["burst"]["t0_s"] == 0 and tl["burst"]["t1_s"] == pytest.approx(0.5)
    assert tl["burst"]["temp_max_c"] < tl["sustained"]["temp_max_c"]
    assert tl["sustained_over_burst"] == pytest.approx(tl["sustained"]["p50_ms"] / tl["burst"]["p50_ms"])
    # stored like any cell, plus the burst/sustained metrics and the timeline
    store = Store(os.environ["HARNESS_STORE"])
    run = store.list_runs()[0]
    assert run["kind"] == "sustained"
    m = store.metrics_frame([run["run_id"]]).set_index("metric")
    assert {"latency_ms@b1.burst_p50", "latency_ms@b1.sustained_p50", "power_w", "temp_max_c"} <= set(m.index)
    assert m.loc["power_w", "method"].startswith("external:command")


def test_sustained_refuses_more_than_one_cell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    workloads = tiny_workloads(tmp_path, WORKLOAD.replace("precisions: [fp32]", "precisions: [fp32, fp16]"))
    res = CliRunner().invoke(
        app, ["sustained", "-d", "local", "-w", "tiny-sustained", "--minutes", "0.01", "--workloads-dir", str(workloads)]
    )
    assert res.exit_code != 0
    assert "sustained runs exactly one cell" in (res.output + str(res.exception))
