"""Link faults injected by the rigs' FaultProxy: drops mid-run and mid-push, device gone, slow link."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.errors import TransportError
from harness.transport.base import Transport
from harness.transport.factory import open_transport
from tests.rigs.faultproxy import FaultProxy
from tests.transport.helpers import unique_sleep, wait_until_gone, wait_until_running

pytestmark = pytest.mark.rig


@pytest.fixture(params=["ssh", "adb"])
def linked(request: pytest.FixtureRequest) -> Iterator[tuple[Transport, FaultProxy, Any]]:
    profile = request.getfixturevalue(f"{request.param}_device")
    rig = request.getfixturevalue("sshd_rig" if request.param == "ssh" else "adb_rig")
    t = open_transport(profile)
    assert t.exec(["true"], timeout=30).rc == 0
    yield t, rig.proxy, rig
    rig.proxy.heal()
    if request.param == "adb":
        rig.heal()
    t.close()


def test_drop_mid_run_is_retryable_and_the_orphan_is_killed_on_reconnect(linked) -> None:  # type: ignore[no-untyped-def]
    t, proxy, _ = linked
    token = unique_sleep()
    box: dict[str, BaseException] = {}

    def run() -> None:
        try:
            t.exec(["sh", "-c", f"sleep {token}"], timeout=120)
        except BaseException as e:  # noqa: BLE001 - inspected below
            box["err"] = e

    th = threading.Thread(target=run)
    th.start()
    assert wait_until_running(token)
    proxy.drop()
    th.join(60)
    err = box.get("err")
    assert isinstance(err, TransportError) and err.retryable, err
    assert "connection lost" in str(err)
    assert t.orphans  # remembered, since the device could not be told
    assert t.exec(["echo", "back"], timeout=60).stdout == "back\n"  # reconnects, reaps first
    assert not t.orphans
    assert wait_until_gone(token) == []


def test_drop_mid_push_is_retryable_and_a_retry_completes(linked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t, proxy, _ = linked
    f = tmp_path / "weights.bin"
    f.write_bytes(os.urandom(3_000_000))
    proxy.drop_after(1_000_000)
    with pytest.raises(TransportError) as e:
        t.push(f)
    assert e.value.retryable
    proxy.heal()
    res = t.push(f)
    assert res.bytes_sent == f.stat().st_size
    assert t._remote_sha256(res.remote) == res.sha256


def test_device_gone_is_a_retryable_transport_error(linked) -> None:  # type: ignore[no-untyped-def]
    t, proxy, _ = linked
    proxy.gone = True
    proxy.drop()
    with pytest.raises(TransportError) as e:
        t.exec(["true"], timeout=30)
    assert e.value.retryable
    assert "rig-" in str(e.value)  # names the device
    proxy.heal()
    assert t.exec(["true"], timeout=60).rc == 0


def test_slow_link_still_gives_exact_results(linked, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    t, proxy, _ = linked
    proxy.delay_s = 0.01
    proxy.rate_bps = 2_000_000
    f = tmp_path / "m.bin"
    f.write_bytes(os.urandom(200_000))
    res = t.push(f)
    assert t._remote_sha256(res.remote) == res.sha256
    out = t.exec(["sh", "-c", "seq 1 5000"], timeout=60)
    assert out.rc == 0 and out.stdout.splitlines()[-1] == "5000"
