"""The device lock over local, ssh and adb: exclusive, heartbeated, stale locks taken over."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from harness.errors import HarnessError
from harness.transport import lock as device_lock_mod
from harness.transport.base import Transport
from harness.transport.factory import open_transport
from harness.transport.local import LocalTransport
from harness.transport.lock import acquire, device_lock, release


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
