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
    pidfile = Path(t.workdir) / "run" / "other.pid"
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
    script = 'for i in $(seq 200); do s=$(cat "$0"/run/*.pid 2>/dev/null); [ -n "$s" ] && break; sleep 0.05; done; echo $s'
    res = t.exec(["sh", "-c", script, t.workdir], timeout=30)
    group, owner = res.stdout.split()
    assert int(owner) == os.getpid() and int(group) > 0
    t.close()
