"""A device is a physical thing, a profile is a view of it: devices/local.yaml and a copy of it with
one thread instead of two, in one run, share this host's lock and run one after the other — every
cell ok, their measured windows never overlap, no "dead run" taken over and no runner of the one
ended by the other's orphan sweep."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from harness.config.loader import load_device
from harness.config.models import DeviceProfile
from harness.results.store import Store
from harness.transport.host_lock import host_side_lock
from harness.transport.local import LocalTransport
from harness.transport.physical import host_lock_dir, local_lock_dir, physical_key
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


def _take_turns(tmp_path: Path, envs: list[dict[str, str]], profiles: list[Path], lock: Path) -> None:
    """Start `harness run` with profiles[0], and once it holds ``lock`` another process with profiles[1]:
    the second waits, naming the first's run, both end ok, and their measured windows never overlap.
    The first holds the machine (a session setup command) until the second has said it waits."""
    go = tmp_path / "go"
    hold = ["sh", "-c", 'i=0; while [ ! -f "$1" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done', "sh", str(go)]
    first_doc = yaml.safe_load(profiles[0].read_text())
    profiles[0].write_text(yaml.safe_dump({**first_doc, "setup": [{"argv": hold, "when": "session"}]}))
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": {**MEASURE, "min_seconds": 1.0, "max_seconds": 1.2},
                                                       "precisions": ["fp32", "fp16"]})
    wl_args = ["--workloads-dir", str(wl), "--no-report"]
    built = subprocess.run([sys.executable, "-m", "harness", "build", "--workloads-dir", str(wl)], cwd=REPO,
                           env=envs[0], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    names = [str(yaml.safe_load(p.read_text())["name"]) for p in profiles]

    def start(i: int) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "harness", "run", "-d", str(profiles[i]), *wl_args], cwd=REPO,
                                env=envs[i], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    first = start(0)
    deadline = time.monotonic() + 120
    while not (lock / "owner.json").is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (lock / "owner.json").is_file(), "the first run never took the machine's lock"
    second = start(1)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(second.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()
    deadline = time.monotonic() + 120
    while not any("is busy" in line for line in lines) and second.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    go.touch()  # the first may go on now
    out1, _ = first.communicate(timeout=600)
    second.wait(timeout=600)
    reader.join(60)
    out2 = "".join(lines)
    assert first.returncode == 0 and second.returncode == 0, out1 + out2
    store = Store(envs[0]["HARNESS_STORE"])
    first_id = next(r["run_id"] for r in store.list_runs() if r["run_id"] in out1)
    flat = " ".join(out2.split())
    assert f"device {names[1]} is busy" in flat and f"harness run {first_id} ({names[0]})" in flat, flat
    assert "dead run" not in flat + out1 and "taking over" not in flat + out1, flat
    cells = store.cells_frame()
    assert len(cells) == 4 and (cells.status == "ok").all(), cells[["device", "status", "error"]]
    a, b = (_windows(cells[cells.device == name]) for name in names)
    assert a[-1][1] <= b[0][0], (a, b)  # the second process measured only after the first let go
    assert not lock.exists()


@pytest.mark.slow
def test_two_run_processes_of_two_local_profiles_take_turns(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    """Two SEPARATE `harness run` processes, two profiles of this host with their own workdirs, their own
    $HOME and $HARNESS_LOCAL_WORKDIR: the host-wide lock (not a per-workdir one) makes the second wait."""
    local = yaml.safe_load((REPO / "devices" / "local.yaml").read_text())
    local["precisions"] = ["fp32", "fp16"]
    profiles = []
    for name, threads in (("local", 2), ("other", 1)):
        doc = {**local, "name": name, "threads": {"intra_op": threads, "inter_op": 1},
               "transport": {"kind": "local", "workdir": str(tmp_path / f"workdir-{name}")}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        profiles.append(tmp_path / f"{name}.yaml")
    base = {k: v for k, v in cli_env.items() if k not in ("HARNESS_LOCAL_LOCK", "HARNESS_HOST_LOCKS")}
    base["TMPDIR"] = str(tmp_path / "tmp")  # the host-wide default lives under the temp dir: this test's own
    (tmp_path / "tmp").mkdir()
    envs = [{**base, "HOME": str(tmp_path / f"home-{i}"), "HARNESS_LOCAL_WORKDIR": str(tmp_path / f"default-{i}")}
            for i in range(2)]
    lock = _lock_default(envs[0])
    assert lock == _lock_default(envs[1]) and lock.is_relative_to(tmp_path / "tmp"), lock
    _take_turns(tmp_path, envs, profiles, lock)


@pytest.mark.slow
@pytest.mark.rig
def test_two_run_processes_of_two_profiles_of_one_ssh_board_take_turns(  # type: ignore[no-untyped-def]
        tmp_path: Path, cli_env, ssh_device_yaml: Path) -> None:
    """The same over ssh: two profiles of the sshd rig with different workdirs (so different device-side
    locks) are one board to this host: its host-side lock, keyed by host:port, makes the second wait."""
    board = yaml.safe_load(ssh_device_yaml.read_text())
    board["precisions"] = ["fp32", "fp16"]
    profiles = []
    for name in ("board-a", "board-b"):
        doc = {**board, "name": name, "transport": {**board["transport"],
                                                     "workdir": f"{board['transport']['workdir']}-{name}"}}
        (tmp_path / f"{name}.yaml").write_text(yaml.safe_dump(doc))
        profiles.append(tmp_path / f"{name}.yaml")
    keys = {physical_key(load_device(p)) for p in profiles}
    assert len(keys) == 1
    lock = Path(cli_env["HARNESS_HOST_LOCKS"]) / Path(host_lock_dir(keys.pop())).name
    _take_turns(tmp_path, [cli_env, cli_env], profiles, lock)


def _profile(name: str, transport: dict) -> DeviceProfile:  # type: ignore[type-arg]
    return DeviceProfile.model_validate({"name": name, "transport": transport,
                                         "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}]})


def test_profiles_of_one_board_share_its_host_side_lock_whatever_workdir_or_user() -> None:
    ssh = [_profile(f"pi-{i}", {"kind": "ssh", "host": "pi.lab", "port": 2222, "user": user, "workdir": f"/w/{i}"})
           for i, user in enumerate(("ci", "bench"))]
    adb = [_profile(f"phone-{i}", {"kind": "adb", "serial": "R5CT", "workdir": f"/data/local/tmp/h{i}"})
           for i in range(2)]
    other = _profile("pi-other", {"kind": "ssh", "host": "pi2.lab", "port": 2222, "workdir": "/w/0"})
    locks = [host_side_lock(p) for p in (*ssh, *adb, other)]
    assert all(lock is not None for lock in locks)
    dirs = [lock.lock_dir for lock in locks]  # type: ignore[union-attr]
    assert dirs[0] == dirs[1] and dirs[2] == dirs[3] and len({dirs[0], dirs[2], dirs[4]}) == 3
    assert Path(dirs[0]).parent == Path(os.environ["HARNESS_HOST_LOCKS"])
    assert host_side_lock(_profile("here", {"kind": "local", "workdir": "/tmp/x"})) is None  # the host lock is it


def test_the_host_wide_lock_folder_is_shared_by_users(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HARNESS_HOST_LOCKS")
    monkeypatch.delenv("HARNESS_LOCAL_LOCK")
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    try:
        lock = Path(local_lock_dir())
    finally:
        tempfile.tempdir = None
    assert lock.parent.parent == tmp_path / "harness-device-locks" and lock.name == "local"
    assert all(d.stat().st_mode & 0o1777 == 0o1777 for d in (lock.parent, lock.parent.parent))  # sticky, like /tmp
