"""The Transport contract, held by ssh and adb against the real sshd / real adb server rigs."""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.transport.base import Transport, sha256_file
from harness.transport.factory import open_transport
from tests.transport.helpers import unique_sleep, wait_until_gone, wait_until_running

pytestmark = pytest.mark.rig


@pytest.fixture(params=["ssh", "adb"])
def remote(request: pytest.FixtureRequest) -> Iterator[Transport]:
    profile = request.getfixturevalue(f"{request.param}_device")
    t = open_transport(profile)
    assert t.kind == request.param
    yield t
    t.close()


def test_exec_separates_streams_and_keeps_exit_code(remote: Transport) -> None:
    res = remote.exec(["sh", "-c", 'echo out; echo err >&2; exit 5'], timeout=30)
    assert (res.rc, res.stdout, res.stderr, res.timed_out) == (5, "out\n", "err\n", False)


def test_exec_quotes_argv_once(remote: Transport, tmp_path: Path) -> None:
    nasty = ["it's", 'a "q"', "$HOME", "`id`", "a;b|c", "", "x y"]
    res = remote.exec(["printf", "%s\\n", *nasty], timeout=30)
    assert res.stdout.split("\n")[:-1] == nasty
    res = remote.exec(["sh", "-c", 'pwd; echo "$A"'], timeout=30, cwd=remote.workdir, env={"A": "1 2"})
    assert res.stdout == f"{remote.workdir}\n1 2\n"


def test_timeout_kills_the_whole_group_on_the_device(remote: Transport) -> None:
    token = unique_sleep()
    res = remote.exec(["sh", "-c", f"sleep {token} & sleep {token}; wait"], timeout=1.5)
    assert res.timed_out and res.rc == -9
    assert wait_until_gone(token) == [], "a timed-out command left processes behind on the device"
    assert remote.exec(["true"], timeout=30).rc == 0  # the link is still usable


def test_push_is_content_addressed_and_verified(remote: Transport, tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(os.urandom(700_000))
    first = remote.push(f)
    assert first.bytes_sent == f.stat().st_size and first.remote.endswith(".onnx")
    again = remote.push(f)
    assert again.bytes_sent == 0 and again.remote == first.remote
    assert (remote.bytes_pushed, remote.files_pushed, remote.files_cached) == (f.stat().st_size, 1, 1)
    assert remote._remote_sha256(first.remote) == sha256_file(f)
    back = tmp_path / "back" / "model.onnx"
    remote.pull(first.remote, back)
    assert back.read_bytes() == f.read_bytes()


def test_push_to_a_named_path_copies_from_the_cache(remote: Transport, tmp_path: Path) -> None:
    f = tmp_path / "agent.py"
    f.write_text("print('hi')\n")
    remote.push(f)
    dest = f"{remote.workdir}/jobs/j1/agent.py"
    res = remote.push(f, dest)
    assert res.remote == dest and res.bytes_sent == 0
    assert remote.read_text(dest) == "print('hi')\n"


def test_text_files_and_dirs(remote: Transport) -> None:
    p = f"{remote.workdir}/t/sub/note.txt"
    assert remote.read_text(p) is None
    remote.write_text(p, "héllo\n")
    assert remote.read_text(p) == "héllo\n"
    remote.makedirs(f"{remote.workdir}/a/b/c")
    assert remote.exec(["test", "-d", f"{remote.workdir}/a/b/c"], timeout=30).rc == 0


def test_free_space_and_facts(remote: Transport) -> None:
    free = remote.free_bytes(remote.workdir)
    assert free is not None and free > 0
    facts = remote.info()
    assert facts["transport"] == remote.kind
    assert isinstance(facts["cores"], int) and facts["cores"] >= 1
    assert isinstance(facts["ram_mb"], int) and facts["ram_mb"] > 0
    assert facts["abi"] and facts["model"] and facts["os"]


def test_adb_facts_come_from_getprop(adb_device) -> None:  # type: ignore[no-untyped-def]
    with open_transport(adb_device) as t:
        facts = t.info()
    assert facts["model"] == "HarnessRig Phone"
    assert facts["soc"] == "rigsoc8"
    assert facts["abi"] == "arm64-v8a"
    assert facts["os"] == "Android 14 (SDK 34)"
    assert facts["os_build"].startswith("harness/rig/rig:14/")


def test_push_refuses_when_the_device_is_full(remote: Transport, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.errors import TransportError

    f = tmp_path / "big.bin"
    f.write_bytes(b"\0" * 10_000)
    monkeypatch.setattr(remote, "free_bytes", lambda _p: 5_000)
    with pytest.raises(TransportError, match="not enough free space") as e:
        remote.push(f)
    assert not e.value.retryable


def test_ctrl_c_kills_the_remote_group(remote: Transport) -> None:
    # a shell without job control starts its background jobs with SIGINT ignored, and Python then installs
    # no KeyboardInterrupt handler: Ctrl-C is Python's default here whatever this process inherited
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        _ctrl_c_kills_the_remote_group(remote)
    finally:
        signal.signal(signal.SIGINT, previous)


def _ctrl_c_kills_the_remote_group(remote: Transport) -> None:
    token = unique_sleep()
    remote.exec(["true"], timeout=30)
    timer = threading.Timer(0.1, lambda: wait_until_running(token) and os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        remote.exec(["sh", "-c", f"sleep {token} & sleep {token}; wait"], timeout=500)
    timer.join()
    assert wait_until_gone(token) == []


def test_abort_from_another_thread_kills_what_runs(remote: Transport) -> None:
    token = unique_sleep()
    remote.exec(["true"], timeout=30)
    timer = threading.Timer(0.1, lambda: wait_until_running(token) and remote.abort())
    timer.start()
    res = remote.exec(["sh", "-c", f"sleep {token} & sleep {token}; wait"], timeout=500)
    timer.join()
    assert res.rc != 0 and not res.timed_out
    assert wait_until_gone(token) == []
