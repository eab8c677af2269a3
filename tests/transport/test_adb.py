"""ADB specifics: offline recovery, pinned adb and server handling, the CLI agrees with us."""

from __future__ import annotations

import subprocess
import time

import pytest

from harness.config.models import AdbTransportConfig
from harness.errors import HarnessError, TransportError
from harness.transport.adb import AdbTransport, parse_server, pinned_adb
from harness.transport.factory import open_transport
from tests.rigs.binaries import free_port

pytestmark = pytest.mark.rig


def test_a_tcp_device_stuck_offline_is_recovered(adb_device, adb_rig) -> None:  # type: ignore[no-untyped-def]
    t = open_transport(adb_device)
    try:
        assert t.exec(["true"], timeout=30).rc == 0
        adb_rig.adbd.silent = True  # e.g. a rebooted phone: TCP up, no handshake
        adb_rig.adbd.kick()
        deadline = time.monotonic() + 15
        while adb_rig.state() == "device" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert adb_rig.state() in ("offline", "absent")
        with pytest.raises(TransportError) as e:
            t.exec(["true"], timeout=10)
        assert e.value.retryable
        adb_rig.adbd.silent = False  # the phone is back, but the server still shows it offline
        assert t.exec(["echo", "ok"], timeout=30).stdout == "ok\n"  # disconnect + connect inside
        assert adb_rig.state() == "device"
    finally:
        t.close()


def test_exit_codes_match_the_adb_cli(adb_device, adb_rig) -> None:  # type: ignore[no-untyped-def]
    cli = adb_rig.adb("-s", adb_rig.serial, "shell", "echo a; echo b >&2; exit 9")
    with open_transport(adb_device) as t:
        ours = t.exec(["sh", "-c", "echo a; echo b >&2; exit 9"], timeout=30)
    assert (cli.returncode, cli.stdout, cli.stderr) == (ours.rc, ours.stdout, ours.stderr) == (9, "a\n", "b\n")


def test_a_local_server_is_started_with_the_pinned_adb(adb_rig, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ADBUTILS_ADB_PATH", adb_rig.adb_bin)
    assert pinned_adb() == adb_rig.adb_bin
    port = free_port()
    cfg = AdbTransportConfig(kind="adb", serial=adb_rig.serial, server=f"127.0.0.1:{port}", connect=True,
                             workdir=adb_rig.workdir)
    t = AdbTransport(cfg, "rig-adb-own-server")
    try:
        assert t.state() == "device"
        assert t.exec(["echo", "hi"], timeout=30).stdout == "hi\n"
    finally:
        t.close()
        subprocess.run([adb_rig.adb_bin, "-P", str(port), "kill-server"], capture_output=True, timeout=30)


def test_an_unreachable_remote_server_is_a_clear_retryable_error() -> None:
    cfg = AdbTransportConfig(kind="adb", serial="R5CT1234", server=f"192.0.2.1:{free_port()}")
    with pytest.raises(TransportError, match="remote adb server is not reachable") as e:
        AdbTransport(cfg, "farm-phone")
    assert e.value.retryable and "farm-phone" in str(e.value)


def test_server_spec_parsing() -> None:
    assert parse_server("farm.lab:5037") == ("farm.lab", 5037)
    with pytest.raises(HarnessError, match="host:port"):
        parse_server("farm.lab")


def test_an_unknown_serial_names_the_device(adb_rig) -> None:  # type: ignore[no-untyped-def]
    cfg = AdbTransportConfig(kind="adb", serial="NOSUCHSERIAL", server=adb_rig.server, workdir=adb_rig.workdir)
    t = AdbTransport(cfg, "ghost")
    with pytest.raises(TransportError, match="ghost") as e:
        t.exec(["true"], timeout=10)
    assert "replug" in str(e.value)


def test_a_device_without_shell_v2_is_refused_clearly(adb_device, adb_rig) -> None:  # type: ignore[no-untyped-def]
    adb_rig.adbd.features = "cmd"  # an Android 6 adbd
    try:
        adb_rig.adb("disconnect", adb_rig.serial)
        adb_rig.connect()  # a fresh handshake: the server learns the new feature list
        with open_transport(adb_device) as t, pytest.raises(HarnessError, match="shell_v2") as e:
            t.exec(["true"], timeout=30)
        assert not isinstance(e.value, TransportError)
    finally:
        from tests.rigs.adbd import FEATURES

        adb_rig.adbd.features = FEATURES
        adb_rig.adb("disconnect", adb_rig.serial)
        adb_rig.connect()
