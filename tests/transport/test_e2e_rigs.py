"""`harness run` end to end through the sshd and adb rigs (subprocess, real CLI).

Each run: cells are ok and marked with their transport; a second run pushes 0 bytes; a
cell over its timeout leaves no process on the device, is stored `timeout`, and the rest
continue; a link dropped under a cell (and under its retry) fails that cell and keeps the rest.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.harness_cli import isolated_env
from tests.helpers import tiny_mlp
from tests.transport.helpers import live_pids_with, wait_until_gone

pytestmark = [pytest.mark.slow, pytest.mark.rig]
REPO = Path(__file__).resolve().parents[2]

WORKLOAD = """\
name: {name}
kind: generic
model:
  path: tiny.onnx
inputs:
  - name: x
    shape: [1, 64]
    dtype: float32
    range: [-1, 1]
precisions: [{precisions}]
measure:
  warmup: 1
  warmup_s: 0
  min_iterations: 5
  min_seconds: {min_seconds}
  max_seconds: {max_seconds}
{extra}"""


def workloads(tmp_path: Path, *specs: dict[str, object]) -> Path:
    folder = tmp_path / "workloads"
    folder.mkdir(exist_ok=True)
    tiny_mlp(folder / "tiny.onnx")
    for spec in specs:
        fields = {"precisions": "fp32", "min_seconds": 0.05, "max_seconds": 1, "extra": "", **spec}
        (folder / f"{spec['name']}.yaml").write_text(WORKLOAD.format(**fields))
    return folder


def harness(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=400)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path)


@pytest.fixture(params=["ssh", "adb"])
def rig_device(request: pytest.FixtureRequest) -> tuple[str, Path, object]:
    yaml_path = request.getfixturevalue(f"{request.param}_device_yaml")
    rig = request.getfixturevalue("sshd_rig" if request.param == "ssh" else "adb_rig")
    return request.param, yaml_path, rig


def test_run_through_the_rig_then_nothing_is_pushed_again(rig_device, tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    kind, yaml_path, _rig = rig_device
    wl = workloads(tmp_path, {"name": "tiny-e2e", "precisions": "fp32, fp16"})
    first = harness(env, "run", "--device", str(yaml_path), "--workloads-dir", str(wl), "--no-report")
    assert first.returncode == 0, first.stdout + first.stderr
    cells = Store(env["HARNESS_STORE"]).cells_frame()
    assert sorted(cells["precision"]) == ["fp16", "fp32"]
    assert set(cells["status"]) == {"ok"}, cells[["precision", "status", "error"]]
    assert set(cells["transport"]) == {kind} and set(cells["device"]) == {f"rig-{kind}"}
    second = harness(env, "run", "--device", str(yaml_path), "--workloads-dir", str(wl), "--no-report")
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"rig-{kind}: 0 bytes in 0 files" in second.stdout, second.stdout


def test_a_timed_out_cell_leaves_nothing_running_and_the_run_goes_on(rig_device, tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    kind, yaml_path, rig = rig_device
    wl = workloads(tmp_path, {"name": "a-slow", "min_seconds": 120, "max_seconds": 120, "extra": "timeout_s: 3\n"},
                   {"name": "b-fast"})
    proc = harness(env, "run", "--device", str(yaml_path), "--workloads-dir", str(wl), "--no-report")
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    cells = Store(env["HARNESS_STORE"]).cells_frame().set_index("workload")
    assert cells.loc["a-slow", "status"] == "timeout", cells[["status", "error"]]
    assert cells.loc["b-fast", "status"] == "ok", cells[["status", "error"]]
    assert wait_until_gone(f"{rig.workdir}/jobs/") == [], "the timed-out agent still runs on the device"


def test_a_dropped_link_fails_that_cell_after_a_retry_and_keeps_the_rest(rig_device, tmp_path: Path, env) -> None:  # type: ignore[no-untyped-def]
    kind, yaml_path, rig = rig_device
    wl = workloads(tmp_path, {"name": "a-dropped", "min_seconds": 60, "max_seconds": 60},
                   {"name": "b-kept"})
    token = f"{rig.workdir}/jobs/"
    drops: list[int] = []
    stop = threading.Event()

    def dropper() -> None:  # cut the link under the first cell's agent, twice (attempt + retry)
        seen: set[int] = set()
        while not stop.is_set() and len(drops) < 2:
            agents = [p for p in live_pids_with(token) if p not in seen and _is_agent(p, "a-dropped")]
            if agents:
                seen.update(agents)
                time.sleep(0.5)
                rig.proxy.drop()
                drops.append(agents[0])
            time.sleep(0.05)

    th = threading.Thread(target=dropper, daemon=True)
    th.start()
    try:
        proc = harness(env, "run", "--device", str(yaml_path), "--workloads-dir", str(wl), "--no-report")
    finally:
        stop.set()
        th.join(10)
    assert len(drops) == 2, proc.stdout + proc.stderr
    cells = Store(env["HARNESS_STORE"]).cells_frame().set_index("workload")
    assert cells.loc["a-dropped", "status"] == "failed", cells[["status", "error", "attempts"]]
    assert "transport" in cells.loc["a-dropped", "error"] and int(cells.loc["a-dropped", "attempts"]) == 2
    assert cells.loc["b-kept", "status"] == "ok", cells[["status", "error"]]
    assert wait_until_gone(token) == [], "an agent cut off by the drop was left running on the device"


def _is_agent(pid: int, workload: str) -> bool:
    """The agent's own python process (not the wrapper shells) for a workload's cell."""
    cmd = _cmdline(pid)
    return cmd.startswith(sys.executable) and "job.json" in cmd and workload in cmd


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""
