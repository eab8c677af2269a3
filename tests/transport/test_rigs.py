"""The rigs themselves speak the real protocols: checked with the real CLIs (ssh, adb)."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.rigs.binaries import free_port

pytestmark = pytest.mark.rig


def test_adbd_serves_tcp_forwards_to_the_real_adb_cli(adb_rig) -> None:  # type: ignore[no-untyped-def]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def echo() -> None:
        conn, _ = srv.accept()
        with conn:
            conn.sendall(conn.recv(100).upper())

    threading.Thread(target=echo, daemon=True).start()
    local = free_port()
    fwd = adb_rig.adb("-s", adb_rig.serial, "forward", f"tcp:{local}", f"tcp:{srv.getsockname()[1]}")
    assert fwd.returncode == 0, fwd.stderr
    try:
        with socket.create_connection(("127.0.0.1", local), timeout=10) as c:
            c.sendall(b"ping")
            assert c.recv(100) == b"PING"
    finally:
        adb_rig.adb("-s", adb_rig.serial, "forward", "--remove", f"tcp:{local}")
        srv.close()


def test_adbd_sync_and_getprop_through_the_adb_cli(adb_rig, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "f.txt"
    src.write_text("payload\n")
    dest = f"{adb_rig.workdir}/cli/f.txt"
    assert adb_rig.adb("-s", adb_rig.serial, "push", str(src), dest).returncode == 0
    back = tmp_path / "back.txt"
    assert adb_rig.adb("-s", adb_rig.serial, "pull", dest, str(back)).returncode == 0
    assert back.read_text() == "payload\n"
    ls = adb_rig.adb("-s", adb_rig.serial, "ls", f"{adb_rig.workdir}/cli")
    assert "f.txt" in ls.stdout
    prop = adb_rig.adb("-s", adb_rig.serial, "shell", "getprop", "ro.product.cpu.abi")
    assert prop.stdout == "arm64-v8a\n"


def test_sshd_rig_answers_the_ssh_cli_with_its_config(sshd_rig) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    res = subprocess.run(sshd_rig.ssh_argv("echo", "hello"), capture_output=True, text=True, timeout=60,
                         stdin=subprocess.DEVNULL)
    assert (res.returncode, res.stdout) == (0, "hello\n"), res.stderr
