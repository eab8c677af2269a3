"""Two `harness run` processes on one device at once: the second waits for the first (both end
with every cell ok); with --no-wait it fails at once, naming the run that holds the device."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.commands.conftest import write_workload

REPO = Path(__file__).resolve().parents[2]


def _start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness", "run", "--no-report", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


@pytest.mark.slow
def test_second_run_waits_for_the_device_and_no_wait_fails_fast(tmp_path: Path, tiny_workloads: Path) -> None:
    env = dict(os.environ, HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"),
               HARNESS_LOCAL_WORKDIR=str(tmp_path / "device"), COLUMNS="200")
    # ~4 cells x >= 1.5 s each: long enough that both later runs find the device held
    write_workload(tiny_workloads, "[fp32, fp16, int8, int8-static]", min_seconds=1.5)
    wl = ["--workloads-dir", str(tiny_workloads)]
    built = subprocess.run([sys.executable, "-m", "harness", "build", *wl], cwd=REPO, env=env, capture_output=True,
                           text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    store = Store(env["HARNESS_STORE"])

    first = _start(env, *wl)
    lock = Path(env["HARNESS_LOCAL_LOCK"]) / "owner.json"  # this host's lock (tests: one per test)
    deadline = time.monotonic() + 120
    while not lock.is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock.is_file(), "the first run never took the device"
    first_id = store.list_runs()[0]["run_id"]

    waiting = _start(env, *wl, "-p", "fp32", "-p", "fp16", "--wait-timeout", "300")
    no_wait = _start(env, *wl, "-p", "fp32", "--no-wait")
    rc_fast, out_fast = _finish(no_wait)
    assert first.poll() is None, "--no-wait must fail while the holder still runs, not after it"
    assert rc_fast == 1  # its cells failed (busy): the run says so in its exit code
    assert f"harness run {first_id}" in out_fast and "busy" in out_fast, out_fast
    assert f"pid {first.pid}" in out_fast

    rc1, out1 = _finish(first)
    rc2, out2 = _finish(waiting)
    assert rc1 == 0 and rc2 == 0, out1 + out2
    assert "device local is busy" in out2 and f"harness run {first_id}" in out2 and "free after waiting" in out2

    runs = {r["run_id"]: r for r in store.list_runs()}
    cells = store.cells_frame(list(runs))
    by_run = {rid: g for rid, g in cells.groupby("run_id")}
    fast_id = next(rid for rid in runs if rid != first_id and set(by_run[rid]["status"]) == {"failed"})
    wait_id = next(rid for rid in runs if rid not in (first_id, fast_id))
    assert set(by_run[first_id]["status"]) == {"ok"} and len(by_run[first_id]) == 4
    assert set(by_run[wait_id]["status"]) == {"ok"} and len(by_run[wait_id]) == 2
    assert by_run[fast_id]["error"].str.contains(f"harness run {first_id}").all()
    # the waiting run measured nothing while the first held the device
    assert by_run[wait_id]["started_at"].min() >= by_run[first_id]["finished_at"].max()
