"""Lifecycle: `--resume` of a run that is still going is refused naming its holder; SIGTERM ends a
run `interrupted` like Ctrl-C, saying how much is stored and how to finish; the resume then
completes it with no cell measured twice."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.hardening.conftest import REPO, local_device, write_profile, write_workloads

BACKENDS = ["cpu0", "cpu1", "cpu2", "cpu3"]
MEASURE = {"warmup": 0, "warmup_s": 0, "min_iterations": 5, "min_seconds": 4.0, "max_seconds": 4.5}


@pytest.mark.slow
def test_sigterm_interrupts_and_a_live_run_cannot_be_resumed(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": MEASURE})
    profile = write_profile(tmp_path, local_device(
        tmp_path, "term", backends=[{"name": b, "provider": "CPUExecutionProvider"} for b in BACKENDS]))
    run = subprocess.Popen([sys.executable, "-m", "harness", "run", "-d", str(profile), "--workloads-dir", str(wl),
                            "--no-report"], cwd=REPO, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    store = Store(cli_env["HARNESS_STORE"])
    deadline = time.monotonic() + 240
    run_id = None
    while run.poll() is None and time.monotonic() < deadline:
        runs = store.list_runs()
        if runs and store.done_cell_keys(runs[0]["run_id"]):
            run_id = runs[0]["run_id"]
            break
        time.sleep(0.1)
    assert run_id is not None and run.poll() is None, run.communicate()[0]

    early = subprocess.run([sys.executable, "-m", "harness", "run", "--resume", run_id, "--no-report"], cwd=REPO,
                           env=cli_env, capture_output=True, text=True, timeout=300)
    said = " ".join(early.stderr.split())
    assert early.returncode == 2, early.stdout + early.stderr
    assert f"run {run_id} is still going: held by pid {run.pid}" in said, said
    assert run.poll() is None  # the refused resume did not disturb it

    run.send_signal(signal.SIGTERM)
    out, _ = run.communicate(timeout=120)
    text = " ".join(out.split())
    assert run.returncode == 130, text
    m = re.search(rf"interrupted: (\d) of 4 cells stored; resume with `harness run --resume {run_id}`", text)
    assert m, text
    assert "Traceback" not in text
    assert store.get_run(run_id)["status"] == "interrupted"
    assert len(store.done_cell_keys(run_id)) == int(m.group(1)) < 4

    res = subprocess.run([sys.executable, "-m", "harness", "run", "--resume", run_id, "--no-report"], cwd=REPO,
                         env=cli_env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    cells = store.cells_frame([run_id])
    assert sorted(cells.backend) == BACKENDS and (cells.status == "ok").all()
    assert store.get_run(run_id)["status"] == "finished"
