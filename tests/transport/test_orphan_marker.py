"""An orphan sweep ends only a process group whose run is verifiably dead: a local pidfile names its
orchestrator, and a group whose orchestrator is alive is left running."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from harness.transport.local import LocalTransport
from harness.transport.orphans import end_orphans


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_a_group_whose_orchestrator_lives_is_not_ended(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "wd"))
    runner = subprocess.Popen(["sh", "-c", "sleep 60", t.workdir], start_new_session=True)
    orchestrator = subprocess.Popen(["sleep", "60"])
    pidfile = Path(t.pidfile_dir) / "other.pid"
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    try:
        pidfile.write_text(f"{runner.pid} {orchestrator.pid}\n")
        assert end_orphans(t) == [] and runner.poll() is None  # its orchestrator is alive: not an orphan
        pidfile.write_text(f"{runner.pid} {_dead_pid()}\n")
        ended = end_orphans(t)
        assert [e.pid for e in ended] == [runner.pid]
        assert runner.wait(timeout=10) == -9
    finally:
        for p in (runner, orchestrator):
            p.kill()
            p.wait()
        t.close()


def test_the_local_transport_writes_its_marker(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "wd"))
    # the pidfile is written just after the command starts: wait for it
    script = 'for i in $(seq 200); do s=$(cat "$0"/*.pid 2>/dev/null); [ -n "$s" ] && break; sleep 0.05; done; echo $s'
    res = t.exec(["sh", "-c", script, t.pidfile_dir], timeout=30)
    group, owner, workdir = res.stdout.split()
    assert int(owner) == os.getpid() and int(group) > 0 and workdir == t.workdir
    t.close()


def test_a_dead_run_of_one_local_profile_is_swept_by_another(tmp_path: Path) -> None:
    """Two local profiles with their own workdirs are one machine: the runner a dead run of the first
    left behind is ended by the next run of the second, before it measures beside it."""
    first, second = LocalTransport(str(tmp_path / "wd-a")), LocalTransport(str(tmp_path / "wd-b"))
    assert first.pidfile_dir == second.pidfile_dir
    runner = subprocess.Popen(["sh", "-c", "sleep 60", first.workdir], start_new_session=True)
    try:
        Path(first.pidfile_dir).mkdir(parents=True, exist_ok=True)
        (Path(first.pidfile_dir) / "dead-run.pid").write_text(f"{runner.pid} {_dead_pid()} {first.workdir}\n")
        ended = end_orphans(second)
        assert [e.pid for e in ended] == [runner.pid] and first.workdir in ended[0].command
        assert runner.wait(timeout=10) == -9
        # a pid reused by a process that does not name that workdir is left alone
        other = subprocess.Popen(["sleep", "60"], start_new_session=True)
        (Path(first.pidfile_dir) / "reused.pid").write_text(f"{other.pid} {_dead_pid()} {first.workdir}\n")
        assert end_orphans(second) == [] and other.poll() is None
        other.kill()
        other.wait()
    finally:
        runner.kill()
        runner.wait()
        first.close()
        second.close()
