"""Bounded everything from a device: a runner printing a gigabyte costs the host a bounded amount of
memory (local, ssh, adb), a native runner crashing with non-UTF-8 output gives its message, and
escape codes or right-to-left overrides in what a device says never reach the terminal raw (run,
compare, errors)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from harness.results.store import Store
from harness.terminal_text import terminal_safe
from harness.transport.base import Transport
from harness.transport.capture import HEAD_BYTES, TAIL_BYTES, CappedStream, OutputFiles
from harness.transport.factory import open_transport
from harness.transport.local import LocalTransport
from tests.hardening.conftest import REPO, hostile_backends, hostile_interpreter, local_device, write_workloads
from tests.hardening.hostile_runner import TERMINAL_ATTACK
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)

CAP = HEAD_BYTES + TAIL_BYTES


@pytest.fixture(params=["local", "ssh", "adb"])
def any_transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    t = LocalTransport() if request.param == "local" else open_transport(request.getfixturevalue(f"{request.param}_device"))
    yield t
    t.close()


def test_a_flood_of_output_is_capped_and_bad_bytes_decoded_on_every_transport(any_transport: Transport) -> None:
    script = "head -c 6000000 /dev/zero | tr '\\000' x; printf 'last line\\n'; " \
             "printf '\\377\\376 native crash: boom\\n' >&2; exit 3"
    res = any_transport.exec(["sh", "-c", script], timeout=120)
    assert res.rc == 3 and not res.timed_out
    assert len(res.stdout) < CAP + 200 and res.stdout.startswith("x" * 1000)
    assert "bytes of output dropped" in res.stdout and res.stdout.endswith("last line\n")  # the tail is kept
    assert res.stderr == "\ufffd\ufffd native crash: boom\n"


def test_a_flood_is_streamed_to_capped_files_on_every_transport(any_transport: Transport, tmp_path: Path) -> None:
    script = "printf 'first line\\n'; head -c 6000000 /dev/zero | tr '\\000' x; printf 'last line\\n'; " \
             "printf '\\377\\376 native crash: boom\\n' >&2; exit 3"
    files = OutputFiles.in_folder(tmp_path / "logs", "cell")
    res = any_transport.exec(["sh", "-c", script], timeout=120, log=files)
    assert res.rc == 3 and res.files == files
    out = files.stdout.read_bytes()
    assert len(out) < CAP + 200  # the file is capped like the message: head, the gap line, tail
    assert out.startswith(b"first line\nxxx") and out.endswith(b"xxxlast line\n")
    assert b"bytes of output dropped" in out and out.count(b"x") == CAP - len(b"first line\nlast line\n")
    assert files.stderr.read_bytes() == b"\377\376 native crash: boom\n"  # raw bytes: decoded only for messages
    assert res.stdout.endswith("last line\n") and res.stderr == "\ufffd\ufffd native crash: boom\n"


def test_a_file_that_cannot_be_written_never_fails_the_command(tmp_path: Path) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    res = LocalTransport().exec(["sh", "-c", "echo hello; echo oops >&2"], timeout=60,
                                log=OutputFiles.in_folder(tmp_path / "logs", "cell"))
    assert (res.rc, res.stdout, res.stderr) == (0, "hello\n", "oops\n")


def test_a_prestarted_runner_keeps_what_it_printed_before_its_cell(tmp_path: Path) -> None:
    t = LocalTransport()
    ready = t.prestart(["sh", "-c", "echo early; echo ready; read job; echo \"got $job\"; echo late >&2"])
    assert ready is not None and ready.wait_ready(30)
    files = OutputFiles.in_folder(tmp_path / "logs", "cell")
    res = ready.run("job.json\n", 30, log=files)
    assert res.rc == 0
    assert files.stdout.read_text() == "early\nready\ngot job.json\n" and files.stderr.read_text() == "late\n"


def test_a_capped_stream_keeps_head_and_tail_in_bounded_memory() -> None:
    s = CappedStream(head=10, tail=5)
    for i in range(1000):
        s.write(f"{i:04d}".encode())
    assert s.total == 4000 and s.dropped == 3985
    assert s.text().startswith("0000000100") and s.text().endswith("80999")
    assert len(s._head) + len(s._tail) == 15


@given(chunks=st.lists(st.binary(max_size=40), max_size=30), head=st.integers(0, 50), tail=st.integers(0, 50))
def test_the_capped_file_is_head_gap_tail_of_what_came(tmp_path_factory, chunks: list[bytes], head: int,  # type: ignore[no-untyped-def]
                                                       tail: int) -> None:
    path = tmp_path_factory.mktemp("capped") / "out.log"
    s = CappedStream(head=head, tail=tail, file=path)
    for c in chunks:
        s.write(c)
    s.close()
    data = b"".join(chunks)
    kept_tail = data[head:][-tail:] if tail else b""
    dropped = len(data) - min(len(data), head) - len(kept_tail)
    gap = f"\n[... {dropped} bytes of output dropped: over the {head + tail} byte cap ...]\n".encode() if dropped else b""
    assert path.read_bytes() == data[:head] + gap + kept_tail
    assert s.text() == data[:head].decode("utf-8", "replace") + gap.decode() + kept_tail.decode("utf-8", "replace")


@given(st.text())
def test_nothing_a_terminal_obeys_survives(text: str) -> None:
    safe = terminal_safe(text)
    assert not any((ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F or c in "\u202a\u202b\u202c\u202d"
                   "\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c" for c in safe)


def test_the_attack_reads_as_text() -> None:
    assert terminal_safe(TERMINAL_ATTACK) == "red \ufffdexe.txt\ufffd done"


def _max_rss_mb(cmd: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``cmd`` under a fresh Python that reports the largest RSS of its descendants."""
    probe = ("import json, resource, subprocess, sys; "
             "r = subprocess.run(sys.argv[1:], capture_output=True, text=True, errors='replace'); "
             "print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr, "
             "'rss_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))")
    done = subprocess.run([sys.executable, "-c", probe, *cmd], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    got = json.loads(done.stdout)
    return subprocess.CompletedProcess(cmd, got["rc"], got["out"], got["err"]), got["rss_kb"] / 1024


def _hostile_run(tmp_path: Path, env: dict[str, str], device: dict,  # type: ignore[type-arg]
                 modes: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    device = {**device, "runner": {"kind": "python", "interpreter": str(hostile_interpreter(tmp_path))},
              "backends": hostile_backends(modes)}
    profile = tmp_path / "loud.yaml"
    profile.write_text(yaml.safe_dump(device, sort_keys=False))
    wl = write_workloads(tmp_path / "workloads")
    return _max_rss_mb([sys.executable, "-m", "harness", "run", "-d", str(profile), "--workloads-dir", str(wl),
                        "--no-report"], env)


def _check_logs(logs: Path, cells) -> None:  # type: ignore[no-untyped-def]
    """The run's folder holds each cell's capped output; a failure message names its files."""
    names = [p.name for p in logs.glob("*.log")]
    assert sum(n.endswith(".stdout.log") for n in names) == sum(n.endswith(".stderr.log") for n in names) == len(cells)
    flood = Path(json.loads(cells.loc["flood", "result_json"])["runner_output"]["stdout"])
    assert flood.parent == logs and flood.stat().st_size < CAP + 200  # a gigabyte printed, the file capped
    assert flood.read_bytes().startswith(b"x" * 1000) and b"bytes of output dropped" in flood.read_bytes()
    garbage = Path(json.loads(cells.loc["garbage", "result_json"])["runner_output"]["stderr"])
    assert str(garbage) in cells.loc["garbage", "error"]
    assert garbage.read_bytes().endswith(b"\xff\xfe\xc3 native crash: boom\n")  # the device's bytes, as sent


def _check(res: subprocess.CompletedProcess[str], env: dict[str, str], rss_mb: float, flood_mb: int,
           logs: Path | None = None) -> None:
    out = res.stdout + res.stderr
    assert res.returncode == 1, out[-3000:]  # cells failed, the run finished
    assert "\x1b" not in out and "\u202e" not in out, out[-3000:]
    assert "native crash: boom" in out and "red \ufffdexe.txt\ufffd done" in out, out[-3000:]
    assert rss_mb < 700 + flood_mb / 8, f"the harness grew to {rss_mb:.0f} MB reading {flood_mb} MB of output"
    store = Store(env["HARNESS_STORE"])
    cells = store.cells_frame().set_index("backend")
    assert cells.loc["flood", "status"] == "ok"
    assert cells.loc["escapes", "error"] == TERMINAL_ATTACK  # the store keeps what the device said
    assert "agent exited 3 without a result: \ufffd\ufffd\ufffd native crash: boom" in cells.loc["garbage", "error"]
    # one device's unstorable text neither ends the run nor loses the cell: stored cut and cleaned, noted whole
    assert cells.loc["unstorable", "status"] == "ok", cells.loc["unstorable", "error"]
    assert cells.loc["unstorable", "ep_used"].startswith("P" * 50)
    notes = {n["field"] for n in json.loads(cells.loc["unstorable", "result_json"])["storable"]}
    assert "ep_used" in notes and any(f.startswith("metrics[") for f in notes)
    run_id = str(store.list_runs()[0]["run_id"])
    _check_logs((logs or Path(env["HARNESS_STORE"]).parent / "logs") / run_id, cells)
    cmp = subprocess.run([sys.executable, "-m", "harness", "compare", run_id, run_id], cwd=REPO, env=env,
                         capture_output=True, text=True, errors="replace", timeout=300)
    assert "\x1b" not in cmp.stdout + cmp.stderr and "\u202e" not in cmp.stdout + cmp.stderr


@pytest.mark.slow
def test_a_loud_hostile_runner_over_the_local_transport(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    env = {**cli_env, "HOSTILE_FLOOD_BYTES": str(1 << 30)}
    env.pop("HARNESS_LOGS", None)  # the default: the run's logs beside its SQLite store
    res, rss = _hostile_run(tmp_path, env, local_device(tmp_path, "loud"),
                            ["flood", "escapes", "garbage", "unstorable"])
    _check(res, env, rss, 1024)


@pytest.mark.slow
@pytest.mark.rig
def test_a_loud_hostile_runner_over_ssh_into_postgres(tmp_path: Path, cli_env, ssh_device_yaml: Path,  # type: ignore[no-untyped-def]
                                                     postgres_url: str) -> None:  # noqa: F811
    # PostgreSQL refuses NULs in text and enforces the column lengths SQLite ignores; sshd passes no
    # environment to the runner: it floods its default gigabyte
    env = {**cli_env, "HARNESS_STORE": postgres_url, "HARNESS_LOGS": str(tmp_path / "logs")}
    device = yaml.safe_load(ssh_device_yaml.read_text())
    res, rss = _hostile_run(tmp_path, env, device, ["flood", "escapes", "garbage", "unstorable"])
    _check(res, env, rss, 1024, logs=tmp_path / "logs")
