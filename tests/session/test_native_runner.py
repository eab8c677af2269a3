"""A native runner (any executable speaking the job/result protocol) is installed and driven.

Here the "native" binary is a shell launcher around the agent: protocol-faithful, since
the session only sees `BINARY --probe` and `BINARY job.json` -> result.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.plan import Filters
from harness.results.store import Store
from harness.session.jobs import agent_source
from harness.session.launch import RunRequest, execute, prepare_run
from tests.commands.conftest import write_workload
from tests.helpers import tiny_mlp


def test_native_runner_is_pushed_probed_and_runs_cells(tmp_path: Path) -> None:
    launcher = tmp_path / "harness-runner"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{agent_source()}" "$@"\n')
    dev_dir, wl_dir = tmp_path / "devices", tmp_path / "workloads"
    dev_dir.mkdir()
    wl_dir.mkdir()
    device_root = tmp_path / "phone"
    (dev_dir / "phone.yaml").write_text(
        "name: fake-phone\ntransport: {kind: local, workdir: " + str(device_root) + "}\n"
        "runner: {kind: native, binary: " + str(device_root / "bin" / "harness-runner") + ", push: " + str(launcher) + "}\n"
        "backends: [{name: cpu, provider: CPUExecutionProvider}]\n"
    )
    tiny_mlp(wl_dir / "tiny.onnx")
    write_workload(wl_dir, "[fp32, int8]", min_seconds=0.05)
    store = Store(tmp_path / "s.db")
    prep = prepare_run(RunRequest(filters=Filters(), devices_dir=dev_dir, workloads_dir=wl_dir,
                                  builds_root=tmp_path / "builds"), store)
    outcome = execute(prep)
    assert dict(outcome.statuses) == {"ok": 2}
    assert (device_root / "bin" / "harness-runner").stat().st_mode & 0o111
    cells = store.cells_frame([prep.run_id])
    assert set(cells["ort_version"]) == {__import__("onnxruntime").__version__}


def test_a_broken_native_runner_fails_cells_with_the_fix(tmp_path: Path) -> None:
    dev_dir, wl_dir = tmp_path / "devices", tmp_path / "workloads"
    dev_dir.mkdir()
    wl_dir.mkdir()
    (dev_dir / "phone.yaml").write_text(
        "name: fake-phone\ntransport: {kind: local, workdir: " + str(tmp_path / "phone") + "}\n"
        "runner: {kind: native, binary: /bin/false}\n"
        "backends: [{name: cpu, provider: CPUExecutionProvider}]\n"
    )
    tiny_mlp(wl_dir / "tiny.onnx")
    write_workload(wl_dir, "[fp32]", min_seconds=0.05)
    store = Store(tmp_path / "s.db")
    prep = prepare_run(RunRequest(devices_dir=dev_dir, workloads_dir=wl_dir, builds_root=tmp_path / "builds"), store)
    outcome = execute(prep)
    assert dict(outcome.statuses) == {"failed": 1}
    error = store.cells_frame([prep.run_id])["error"].iloc[0]
    assert "fake-phone" in error and "--probe" in error and "fix:" in error
