"""`harness run` on the ADB rig with a native runner and `memory.pss`: the stored cell carries
Android's peak PSS (polled with `dumpsys meminfo <runner pid>`) with its method.

The "native" runner is a shell launcher exec'ing the agent (same pid): protocol-faithful,
since the session only sees `BINARY --probe` and `BINARY job.json` -> result.json.
"""

from __future__ import annotations

import os
import sys

import pytest
import yaml
from typer.testing import CliRunner

from harness.cli import app
from harness.results.store import Store
from harness.session.jobs import agent_source
from tests.helpers import tiny_workloads
from tests.probes.test_run_power import WORKLOAD


@pytest.mark.slow
@pytest.mark.rig
def test_native_runner_cell_reports_peak_pss_over_adb(adb_rig, adb_device_yaml, tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    workloads = tiny_workloads(tmp_path, WORKLOAD)
    launcher = tmp_path / "ort_runner"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{agent_source()}" "$@"\n')
    profile = yaml.safe_load(adb_device_yaml.read_text())
    profile["runner"] = {"kind": "native", "binary": f"{adb_rig.workdir}/bin/ort_runner", "push": str(launcher)}
    profile["probes"] = {"memory": {"pss": True, "pss_interval_s": 0.2}}
    adb_device_yaml.write_text(yaml.safe_dump(profile))

    res = CliRunner().invoke(
        app, ["run", "-d", str(adb_device_yaml), "--workloads-dir", str(workloads), "--no-report"], env={"COLUMNS": "200"}
    )

    assert res.exit_code == 0, res.output + repr(res.exception)
    store = Store(os.environ["HARNESS_STORE"])
    run_id = store.list_runs()[0]["run_id"]
    cell = store.cells_frame([run_id]).iloc[0]
    assert cell["status"] == "ok" and cell["transport"] == "adb", cell["error"]
    m = store.metrics_frame([run_id]).set_index("metric")
    pss = m.loc["peak_pss_mb"]
    assert pss["unit"] == "MB" and pss["method"].startswith("dumpsys meminfo TOTAL PSS (max of")
    n = int(pss["method"].split("max of ")[1].rstrip(")"))
    assert n >= 3  # polled through the measured window, not read once
    assert 1.0 < pss["value"] <= m.loc["peak_rss_mb", "value"] * 1.01
