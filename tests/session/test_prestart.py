"""Prestart on the local device: the next cell's agent starts (interpreter and imports) while the
current cell warms up (the handoff). Each cell still runs in its own fresh process, its peak memory
is the same as with a cold start, no steady window shares the device with a start-up, and nothing
of it outlives the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.results.store import Store
from tests.commands.conftest import WORKLOAD
from tests.helpers import tiny_workloads

REPO = Path(__file__).resolve().parents[2]


def _profile(devices: Path, name: str, workdir: Path, prestart: bool) -> None:
    devices.mkdir(exist_ok=True)
    (devices / f"{name}.yaml").write_text(yaml.safe_dump({
        "name": name, "transport": {"kind": "local", "workdir": str(workdir)},
        "runner": {"kind": "python", "prestart": prestart},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 1, "inter_op": 1}}))


def _agents_waiting(workdir: Path) -> list[str]:
    """Command lines of live processes started as a prestarted agent from this workdir."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "--job-from-stdin" in cmd and str(workdir) in cmd:
            found.append(cmd)
    return found


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_prestarted_cells_are_fresh_processes_with_cold_start_memory(tmp_path: Path) -> None:
    workloads = tiny_workloads(tmp_path, WORKLOAD.format(precisions="[fp32, fp16, int8]", min_seconds=0.05))
    devices = tmp_path / "devices"
    _profile(devices, "warm", tmp_path / "dev-warm", True)
    _profile(devices, "cold", tmp_path / "dev-cold", False)
    env = dict(os.environ, HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"))
    for name in ("cold", "warm"):
        res = subprocess.run([sys.executable, "-m", "harness", "run", "--no-report", "--devices-dir", str(devices),
                              "-d", name, "--workloads-dir", str(workloads)], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=600)
        assert res.returncode == 0, res.stdout + res.stderr
    assert _agents_waiting(tmp_path / "dev-warm") == []  # the last cell's prestarted agent was ended
    assert not list((tmp_path / "dev-warm" / "run").glob("*.pid"))

    store = Store(tmp_path / "store.db")
    runs = [r["run_id"] for r in store.list_runs()]
    cells = store.cells_frame(runs)
    assert set(cells["status"]) == {"ok"} and len(cells) == 6
    warm = cells[cells["device"] == "warm"]
    results = [json.loads(r) for r in warm.sort_values("started_at")["result_json"]]
    assert len({r["env"]["pid"] for r in results}) == len(warm)  # one fresh process per cell
    *handed, last = results
    for r in handed:  # the next cell's agent started during this one's warm-up, ready before its steady windows
        ready = r["handoff"]["next_runner_ready"]
        assert r["handoff"]["next_runner_started"] < ready < min(w[0] for w in r["windows"].values()), r["handoff"]
        assert 0 <= r["held_s"] <= r["measure_s"]
    assert "handoff" not in last and last["held_s"] == 0  # nothing started after the last cell
    assert not any("handoff" in json.loads(r) for r in cells[cells["device"] == "cold"]["result_json"])
    metrics = store.metrics_frame(runs)
    peak = metrics[metrics["metric"] == "peak_rss_mb"].copy()
    peak["cell"] = peak["cell_key"].str.split("/", n=1).str[1]
    by = peak.pivot_table(index="cell", columns="device", values="value")
    ratio = by["warm"] / by["cold"]
    assert ratio.between(0.95, 1.05).all(), by  # the same peak as a cold start, cell by cell
