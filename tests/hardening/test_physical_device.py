"""A device is a physical thing, a profile is a view of it: devices/local.yaml and a copy of it with
one thread instead of two, in one run, share this host's lock and run one after the other — every
cell ok, their measured windows never overlap, no "dead run" taken over and no runner of the one
ended by the other's orphan sweep."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from harness.config.loader import load_device
from harness.results.store import Store
from harness.transport.local import LocalTransport
from harness.transport.physical import physical_key
from tests.hardening.conftest import REPO, write_workloads

MEASURE = {"warmup": 0, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.5, "max_seconds": 0.7}


def _windows(cells) -> list[tuple[datetime, datetime]]:  # type: ignore[no-untyped-def]
    out = []
    for c in cells.itertuples():
        start = datetime.fromisoformat(c.started_at)
        out.append((start, start + timedelta(seconds=float(c.wall_s))))
    return sorted(out)


@pytest.mark.slow
def test_two_profiles_of_this_host_run_one_after_the_other(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": MEASURE, "precisions": ["fp32", "fp16"]})
    local = yaml.safe_load((REPO / "devices" / "local.yaml").read_text())
    local["precisions"] = ["fp32", "fp16"]
    one = tmp_path / "local.yaml"
    one.write_text(yaml.safe_dump(local))
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**local, "name": "other", "threads": {"intra_op": 1, "inter_op": 1}}))
    assert physical_key(load_device(one)) == physical_key(load_device(other))

    res = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(one), "-d", str(other), "--workloads-dir",
                          str(wl), "--no-report"], cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=600)
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 0, out
    assert "dead run" not in out and "taking over" not in out and "without a result" not in out, out
    assert "busy" not in out, out  # the run itself drives them in turn: neither waits for the other's lock
    store = Store(cli_env["HARNESS_STORE"])
    cells = store.cells_frame()
    assert len(cells) == 4 and (cells.status == "ok").all(), cells[["device", "status", "error"]]
    a, b = (_windows(cells[cells.device == name]) for name in ("local", "other"))
    # every cell of one profile ends before any of the other's begins
    assert a[-1][1] <= b[0][0] or b[-1][1] <= a[0][0], (a, b)
    assert not Path(cli_env["HARNESS_LOCAL_LOCK"]).exists()  # the host's lock, released


def test_every_local_profile_takes_the_one_host_lock(tmp_path: Path) -> None:
    assert LocalTransport(str(tmp_path / "a")).lock_dir == LocalTransport(str(tmp_path / "b")).lock_dir


def _lock_default(env: dict[str, str]) -> Path:
    """Where a process with ``env`` puts this host's lock (no HARNESS_LOCAL_LOCK: the host-wide default)."""
    out = subprocess.run([sys.executable, "-c", "from harness.transport.physical import local_lock_dir as d; print(d())"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=True)
    return Path(out.stdout.strip())


@pytest.mark.slow
def test_two_run_processes_of_two_local_profiles_take_turns(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    """Two SEPARATE `harness run` processes, two profiles of this host with their own workdirs, their own
    $HOME and $HARNESS_LOCAL_WORKDIR: the host-wide lock (not a per-workdir one) makes the second wait for
    the first, naming its run, and their measured windows never overlap."""
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": {**MEASURE, "min_seconds": 1.0, "max_seconds": 1.2},
                                                       "precisions": ["fp32", "fp16"]})
    local = yaml.safe_load((REPO / "devices" / "local.yaml").read_text())
    local["precisions"] = ["fp32", "fp16"]
    profiles = []
    for name, threads in (("local", 2), ("other", 1)):
        doc = {**local, "name": name, "threads": {"intra_op": threads, "inter_op": 1},
               "transport": {"kind": "local", "workdir": str(tmp_path / f"workdir-{name}")}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        profiles.append(tmp_path / f"{name}.yaml")
    base = {k: v for k, v in cli_env.items() if k != "HARNESS_LOCAL_LOCK"}
    base["TMPDIR"] = str(tmp_path / "tmp")  # the host-wide default lives under the temp dir: this test's own
    (tmp_path / "tmp").mkdir()
    envs = [{**base, "HOME": str(tmp_path / f"home-{i}"), "HARNESS_LOCAL_WORKDIR": str(tmp_path / f"default-{i}")}
            for i in range(2)]
    lock = _lock_default(envs[0])
    assert lock == _lock_default(envs[1]) and lock.is_relative_to(tmp_path / "tmp"), lock
    wl_args = ["--workloads-dir", str(wl), "--no-report"]
    built = subprocess.run([sys.executable, "-m", "harness", "build", "--workloads-dir", str(wl)], cwd=REPO, env=base,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr

    def start(i: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "harness", "run", "-d", str(profiles[i]), *wl_args], cwd=REPO,
                                env=envs[i], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = start(0)
    deadline = time.monotonic() + 120
    while not (lock / "owner.json").is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (lock / "owner.json").is_file(), "the first run never took the host's lock"
    second = start(1)
    out1, _ = first.communicate(timeout=600)
    out2, _ = second.communicate(timeout=600)
    assert first.returncode == 0 and second.returncode == 0, out1 + out2
    first_id = next(r["run_id"] for r in Store(base["HARNESS_STORE"]).list_runs() if r["run_id"] in out1)
    flat = " ".join(out2.split())
    assert "device other is busy" in flat and f"harness run {first_id} (local)" in flat, flat
    assert "dead run" not in flat + out1 and "taking over" not in flat + out1, flat
    cells = Store(base["HARNESS_STORE"]).cells_frame()
    assert len(cells) == 4 and (cells.status == "ok").all(), cells[["device", "status", "error"]]
    a, b = (_windows(cells[cells.device == name]) for name in ("local", "other"))
    assert a[-1][1] <= b[0][0], (a, b)  # the second process measured only after the first let go
    assert not lock.exists()
