"""The device lock over local, ssh and adb: exclusive, heartbeated, stale locks taken over."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest

from harness.errors import HarnessError
from harness.transport import lock as device_lock_mod
from harness.transport.base import Transport
from harness.transport.factory import open_transport
from harness.transport.local import LocalTransport
from harness.transport.lock import DeviceBusy, DeviceLock, acquire, device_lock, release


@pytest.fixture(params=["local", "ssh", "adb"])
def any_transport(request: pytest.FixtureRequest) -> Iterator[Transport]:
    if request.param == "local":
        t: Transport = LocalTransport()
    else:
        t = open_transport(request.getfixturevalue(f"{request.param}_device"))
    t.exec(["rm", "-rf", f"{t.workdir}/lock"], timeout=30)
    yield t
    t.close()


def _age_heartbeat(t: Transport, seconds: int) -> None:
    res = t.exec(["sh", "-c", 'echo $(( $(date +%s) - $2 )) > "$1/heartbeat"', "x", f"{t.workdir}/lock",
                  str(seconds)], timeout=30)
    assert res.rc == 0, res.stderr


def test_second_orchestrator_is_refused_with_the_holder_named(any_transport: Transport) -> None:
    with device_lock(any_transport, "nightly@ci-runner-1") as held:
        assert not held.lost
        with pytest.raises(HarnessError) as e:
            acquire(any_transport, "adhoc@laptop")
        msg = str(e.value)
        assert "busy" in msg and "nightly@ci-runner-1" in msg and f"pid {held.owner['pid']}" in msg
        assert str(held.owner["host"]) in msg
    second = acquire(any_transport, "adhoc@laptop")  # released on exit
    release(any_transport, second)


def test_a_stale_lock_is_taken_over(any_transport: Transport) -> None:
    crashed = acquire(any_transport, "crashed-run", stale_after_s=30)  # never heartbeats, never releases
    _age_heartbeat(any_transport, 100)
    with device_lock(any_transport, "new-run", stale_after_s=30) as mine:
        assert mine.taken_over_from is not None and mine.taken_over_from["token"] == crashed.owner["token"]
        owner = json.loads(any_transport.read_text(f"{any_transport.workdir}/lock/owner.json") or "{}")
        assert owner["owner"] == "new-run"
    # the crashed run's release must not remove someone else's lock
    again = acquire(any_transport, "third")
    release(any_transport, crashed)
    with pytest.raises(HarnessError, match="third"):
        acquire(any_transport, "fourth")
    release(any_transport, again)


def test_heartbeat_keeps_the_lock_fresh_and_notices_a_takeover(any_transport: Transport) -> None:
    hb = f"{any_transport.workdir}/lock/heartbeat"
    with device_lock(any_transport, "long-run", stale_after_s=30, heartbeat_s=0.2) as mine:
        _age_heartbeat(any_transport, 20)
        stale_value = any_transport.read_text(hb)
        deadline = time.monotonic() + 20
        while any_transport.read_text(hb) == stale_value and time.monotonic() < deadline:
            time.sleep(0.1)
        assert any_transport.read_text(hb) != stale_value, "the heartbeat thread never refreshed the lock"
        # another orchestrator took it over (its owner.json replaced ours): our heartbeat notices
        thief = {"owner": "thief", "host": "elsewhere", "pid": 1, "token": "f" * 32, "since": "now"}
        any_transport.write_text(f"{mine.path}/owner.json", json.dumps(thief))
        deadline = time.monotonic() + 20
        while not mine.lost and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mine.lost
    # our exit did not release the thief's lock
    with pytest.raises(HarnessError, match="thief"):
        acquire(any_transport, "someone")
    any_transport.exec(["rm", "-rf", mine.path], timeout=30)


def test_heartbeat_must_be_shorter_than_staleness() -> None:
    with pytest.raises(ValueError), device_lock(LocalTransport(), "x", stale_after_s=5, heartbeat_s=5):
        pass


def test_lock_module_quotes_owner_json_through_argv(any_transport: Transport) -> None:
    lk = acquire(any_transport, "it's \"quoted\" $HOME `id`")
    owner = json.loads(any_transport.read_text(lk.path + "/owner.json") or "{}")
    assert owner["owner"] == "it's \"quoted\" $HOME `id`"
    device_lock_mod.release(any_transport, lk)


def test_a_busy_device_is_waited_for_until_its_holder_releases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_lock_mod, "WAIT_POLL_S", 0.05)
    t = LocalTransport()
    seen: list[str] = []
    got: list[DeviceLock] = []
    with device_lock(t, "harness run first") as held:
        waiter = threading.Thread(target=lambda: got.append(acquire(
            t, "harness run second", wait_s=60, on_wait=lambda busy, waited: seen.append(busy.waiting_line(waited, 60)))))
        waiter.start()
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not got, "the second owner took a lock that was held"
        line = seen[-1]
        assert "harness run first" in line and f"pid {held.owner['pid']}" in line and "last heartbeat" in line
        assert f"since {held.owner['since']}" in line and "of 60 s" in line
    waiter.join(timeout=30)
    assert got and got[0].owner["owner"] == "harness run second"
    release(t, got[0])


def test_waiting_gives_up_after_the_wait_timeout_naming_the_holder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_lock_mod, "WAIT_POLL_S", 0.05)
    t = LocalTransport()
    with device_lock(t, "nightly@rack-b"), pytest.raises(DeviceBusy) as e:
        acquire(t, "adhoc", wait_s=0.3)
    assert e.value.waited_s >= 0.3 and "nightly@rack-b" in str(e.value) and "waited" in str(e.value)


def test_a_stop_event_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_lock_mod, "WAIT_POLL_S", 0.05)
    t = LocalTransport()
    stop = threading.Event()
    with device_lock(t, "holder"):
        timer = threading.Timer(0.3, stop.set)
        timer.start()
        with pytest.raises(HarnessError, match="stopped while waiting") as e:
            acquire(t, "waiter", wait_s=3600, stop=stop)
        assert not isinstance(e.value, DeviceBusy)  # Ctrl-C is not a busy device: the runner leaves cells missing
