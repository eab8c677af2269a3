"""The local transport: content-addressed push, exec with a group-killing timeout."""

from __future__ import annotations

import os
import time
from pathlib import Path

from harness.transport.local import LocalTransport


def test_push_sends_unchanged_content_once(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    f = tmp_path / "model.onnx"
    f.write_bytes(os.urandom(10_000))
    first = t.push(f)
    second = t.push(f)
    assert first.bytes_sent == 10_000 and second.bytes_sent == 0 and first.remote == second.remote
    assert t.bytes_pushed == 10_000 and t.files_cached == 1
    f.write_bytes(os.urandom(10_000))
    assert t.push(f).bytes_sent == 10_000


def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    pidfile = tmp_path / "child.pid"
    res = t.exec(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], timeout=0.5)
    assert res.timed_out
    child = int(pidfile.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"grandchild {child} survived the timeout")


def test_exec_separates_streams_and_exit_code(tmp_path: Path) -> None:
    res = LocalTransport(str(tmp_path / "dev")).exec(["sh", "-c", "echo out; echo err >&2; exit 3"], timeout=10)
    assert (res.rc, res.stdout, res.stderr, res.timed_out) == (3, "out\n", "err\n", False)
