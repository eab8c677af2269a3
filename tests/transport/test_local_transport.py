"""The local transport: content-addressed push, exec with a group-killing timeout."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

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


# ---- prestart: started before its input exists, then run once ----------------------------------
ECHO_REVERSED = "import sys; line = sys.stdin.readline().strip(); print(line[::-1]); sys.exit(3 if line == 'x' else 0)"


def _group_alive(pid: int) -> bool:
    """Whether the process group still has a member after 2.5 s (orphans are reaped by init)."""
    for _ in range(50):
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return False
        time.sleep(0.05)
    return True


def test_a_prestarted_command_reads_its_input_once_then_exits(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    ready = t.prestart([sys.executable, "-c", ECHO_REVERSED])
    assert ready is not None and len(t.running_pidfiles()) == 1
    res = ready.run("harness\n", timeout=30)
    assert (res.rc, res.stdout.strip(), res.timed_out) == (0, "ssenrah", False)
    assert t.running_pidfiles() == frozenset()  # its pidfile goes with it
    with pytest.raises(RuntimeError, match="runs once"):
        ready.run("again\n")
    failing = t.prestart([sys.executable, "-c", ECHO_REVERSED])
    assert failing is not None and failing.run("x\n", timeout=30).rc == 3


def test_a_prestarted_command_past_its_timeout_has_its_group_killed(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    script = "import subprocess, sys, time; sys.stdin.readline(); subprocess.Popen(['sleep', '60']); time.sleep(60)"
    ready = t.prestart([sys.executable, "-c", script])
    assert ready is not None
    pid = ready._proc.pid  # type: ignore[attr-defined]
    res = ready.run("go\n", timeout=1.0)
    assert res.timed_out and res.rc == -9
    assert not _group_alive(pid)  # the sleep it started went with it


def test_one_that_died_before_its_input_says_why_and_a_discarded_one_leaves_nothing(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    dead = t.prestart([sys.executable, "-c", "import sys; sys.stderr.write('no onnxruntime here'); sys.exit(4)"])
    assert dead is not None
    time.sleep(0.5)  # gone before the job comes
    res = dead.run("job.json\n", timeout=30)
    assert res.rc == 4 and "no onnxruntime here" in res.stderr
    idle = t.prestart([sys.executable, "-c", "import time; time.sleep(60)"])
    assert idle is not None
    pid = idle._proc.pid  # type: ignore[attr-defined]
    idle.discard()
    idle.discard()  # twice is harmless
    assert not _group_alive(pid) and t.running_pidfiles() == frozenset()
    assert not list((tmp_path / "dev" / "run").glob("*.pid"))


# ---- the handoff: a runner's "warm-up" answered with "go" once the callback is done ------------
# A stand-in runner speaking the protocol's lines: "ready", the job line, "warm-up", then it waits
# for "go" (or EOF) and prints what it got and when, on the same clock as the test.
HANDING_OFF = """import sys, time
print("ready", flush=True)
job = sys.stdin.readline().strip()
print("warm-up", flush=True)
answer = sys.stdin.readline().strip()
print(job, answer or "EOF", time.monotonic(), flush=True)
"""


def test_wait_ready_sees_the_ready_line_and_an_end_before_it(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    started = t.prestart([sys.executable, "-c", HANDING_OFF])
    assert started is not None and started.wait_ready(30)
    started.discard()
    dead = t.prestart([sys.executable, "-c", "import sys; sys.exit(4)"])
    assert dead is not None and dead.wait_ready(30) is False  # ended first: not ready, no 30 s wait
    dead.discard()
    slow = t.prestart([sys.executable, "-c", "import time; time.sleep(60)"])
    assert slow is not None
    t0 = time.monotonic()
    assert slow.wait_ready(0.3) is False and time.monotonic() - t0 < 5
    slow.discard()
    assert t.running_pidfiles() == frozenset()


def test_a_handoff_runs_the_callback_on_warm_up_then_says_go(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    ready = t.prestart([sys.executable, "-c", HANDING_OFF])
    assert ready is not None
    called: list[float] = []
    res = ready.run("job.json\n", timeout=60, on_warm_up=lambda: (time.sleep(0.3), called.append(time.monotonic())))
    assert res.rc == 0 and not res.timed_out, res.stderr
    lines = res.stdout.split("\n")
    job, answer, at = lines[2].split()
    assert lines[:2] == ["ready", "warm-up"] and (job, answer) == ("job.json", "go")
    assert len(called) == 1 and float(at) >= called[0]  # "go" came after the callback returned


def test_a_handoff_the_runner_never_announces_calls_nothing_and_still_ends(tmp_path: Path) -> None:
    t = LocalTransport(str(tmp_path / "dev"))
    ready = t.prestart([sys.executable, "-c", ECHO_REVERSED])  # no "warm-up": an older runner
    assert ready is not None
    res = ready.run("harness\n", timeout=60, on_warm_up=lambda: pytest.fail("no warm-up was announced"))
    assert (res.rc, res.stdout.strip()) == (0, "ssenrah")
    stuck = t.prestart([sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(60)"])
    assert stuck is not None
    res = stuck.run("job.json\n", timeout=1.0, on_warm_up=lambda: None)
    assert res.timed_out and res.rc == -9 and t.running_pidfiles() == frozenset()
