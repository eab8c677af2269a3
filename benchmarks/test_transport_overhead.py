"""Per-command overhead and push throughput of the ssh and adb transports, against the rigs.

Each figure is a ratio to the plain command-line tool on the same rig, measured in the
same run (``ssh``/``scp`` with the rig's ssh_config; ``adb shell``/``adb push`` against
the rig's adb server): ratio < 1 means the harness is cheaper than the CLI for commands,
ratio > 1 means it pushes faster (a harness push includes the free-space check, the
sha256 verification on the device and the cache marker; ``send_only`` is the bare
transfer). For ssh, paramiko (with and without TCP_NODELAY) is
measured too: it is why the transport is built on asyncssh. Numbers go to extra_info and
stdout; nothing here asserts a speed.

    .venv/bin/pytest benchmarks/test_transport_overhead.py --benchmark-enable -s
"""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.transport.factory import open_transport
from tests.rigs import fixtures as rig_fixtures

# the rig fixtures, registered for this module (tests/ registers them through its conftest)
sshd_rig, adb_rig = rig_fixtures.sshd_rig, rig_fixtures.adb_rig
ssh_device, ssh_device_yaml = rig_fixtures.ssh_device, rig_fixtures.ssh_device_yaml
adb_device, adb_device_yaml = rig_fixtures.adb_device, rig_fixtures.adb_device_yaml

ROUNDS = 15
PUSH_BYTES = 8 * 1024 * 1024


@pytest.fixture(autouse=True)
def _one_round_when_timing_is_off(benchmark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Timing off (CI, --benchmark-disable): every figure from one round; the paths still run end to end."""
    if benchmark.disabled:
        monkeypatch.setattr(sys.modules[__name__], "ROUNDS", 1)


def median_s(fn: Callable[[], object], rounds: int | None = None) -> float:
    fn()  # warm: connection, caches
    samples = []
    for _ in range(min(rounds or ROUNDS, ROUNDS)):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run_ok(argv: list[str]) -> None:
    res = subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
    assert res.returncode == 0, res.stderr


def report(benchmark: Any, label: str, **figures: float) -> None:
    benchmark.extra_info.update({k: round(v, 4) for k, v in figures.items()})
    print(f"\n[{label}] " + "  ".join(f"{k}={v:.4g}" for k, v in figures.items()))


def paramiko_client(rig: Any, nodelay: bool) -> Any:
    import paramiko

    client = paramiko.SSHClient()
    client.load_host_keys(str(rig.known_hosts))
    client.connect("127.0.0.1", port=rig.port, username=rig.user, key_filename=str(rig.user_key),
                   look_for_keys=False, allow_agent=False)
    tr = client.get_transport()
    assert tr is not None
    tr.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1 if nodelay else 0)
    return client


def paramiko_command_s(rig: Any, nodelay: bool) -> float:
    client = paramiko_client(rig, nodelay)

    def once() -> None:
        _, out, _ = client.exec_command("true")
        out.channel.recv_exit_status()

    try:
        return median_s(once)
    finally:
        client.close()


@pytest.mark.rig
def test_ssh_command_overhead(benchmark: Any, request: pytest.FixtureRequest) -> None:
    rig = request.getfixturevalue("sshd_rig")
    with open_transport(request.getfixturevalue("ssh_device")) as t:
        ours = median_s(lambda: t.exec(["true"], timeout=60))
        raw = median_s(lambda: t._run("true", 60))  # type: ignore[attr-defined]
        cli = median_s(lambda: run_ok(rig.ssh_argv("true")))
        report(benchmark, "ssh command", harness_ms=ours * 1e3, harness_no_group_wrapper_ms=raw * 1e3,
               ssh_cli_ms=cli * 1e3, ratio_to_cli=ours / cli,
               paramiko_nodelay_ms=paramiko_command_s(rig, True) * 1e3,
               paramiko_no_nodelay_ms=paramiko_command_s(rig, False) * 1e3)
        benchmark.pedantic(lambda: t.exec(["true"], timeout=60), rounds=ROUNDS, warmup_rounds=1)


@pytest.mark.rig
def test_adb_command_overhead(benchmark: Any, request: pytest.FixtureRequest) -> None:
    rig = request.getfixturevalue("adb_rig")
    with open_transport(request.getfixturevalue("adb_device")) as t:
        ours = median_s(lambda: t.exec(["true"], timeout=60))
        raw = median_s(lambda: t._run("true", 60))  # type: ignore[attr-defined]
        cli = median_s(lambda: run_ok([rig.adb_bin, "-P", str(rig.server_port), "-s", rig.serial, "shell", "true"]))
        report(benchmark, "adb command", harness_ms=ours * 1e3, harness_no_group_wrapper_ms=raw * 1e3,
               adb_cli_ms=cli * 1e3, ratio_to_cli=ours / cli)
        benchmark.pedantic(lambda: t.exec(["true"], timeout=60), rounds=ROUNDS, warmup_rounds=1)


def _push_rounds(t: Any, tmp_path: Path, rounds: int) -> float:
    """Median seconds of an uncached push (fresh content each round: the cache never hits)."""
    src = tmp_path / "payload.bin"
    base = os.urandom(PUSH_BYTES)
    samples = []
    for i in range(rounds):
        src.write_bytes(i.to_bytes(8, "little") + base[8:])
        t0 = time.perf_counter()
        res = t.push(src)
        samples.append(time.perf_counter() - t0)
        assert res.bytes_sent == PUSH_BYTES
    return statistics.median(samples)


@pytest.mark.rig
@pytest.mark.parametrize("kind", ["ssh", "adb"])
def test_push_throughput(benchmark: Any, kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    profile = request.getfixturevalue(f"{kind}_device")
    rig = request.getfixturevalue("sshd_rig" if kind == "ssh" else "adb_rig")
    src = tmp_path / "cli.bin"
    src.write_bytes(os.urandom(PUSH_BYTES))
    dest = f"{rig.workdir}/cli-push.bin"
    extra: dict[str, float] = {}
    if kind == "ssh":
        scp = ["scp", "-q", "-F", str(rig.ssh_config), str(src), f"{rig.ssh_argv()[-1]}:{dest}"]
        cli = median_s(lambda: run_ok(scp), rounds=5)
        client = paramiko_client(rig, nodelay=True)
        sftp = client.open_sftp()
        try:
            extra["paramiko_sftp_MBps"] = PUSH_BYTES / 1e6 / median_s(lambda: sftp.put(str(src), dest), rounds=3)
        finally:
            client.close()
    else:
        cli = median_s(lambda: run_ok([rig.adb_bin, "-P", str(rig.server_port), "-s", rig.serial, "push",
                                       str(src), dest]), rounds=5)
    with open_transport(profile) as t:
        ours = _push_rounds(t, tmp_path, min(5, ROUNDS))
        send_only = median_s(lambda: t._send(src, dest), rounds=5)  # type: ignore[attr-defined]
        mb = PUSH_BYTES / 1e6
        report(benchmark, f"{kind} push {mb:.0f} MB", harness_MBps=mb / ours, harness_send_only_MBps=mb / send_only,
               cli_MBps=mb / cli, throughput_ratio_to_cli=cli / ours, **extra)
        benchmark.pedantic(lambda: _push_rounds(t, tmp_path, 1), rounds=3)
