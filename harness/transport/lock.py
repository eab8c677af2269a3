"""A device lock, so two orchestrators (even on different hosts) never drive one device.

The lock lives ON the device: ``<workdir>/lock/`` created with ``mkdir`` (atomic on every
filesystem we meet), holding ``owner.json`` (owner, host, pid, token, since) and
``heartbeat`` (the device's own ``date +%s``, so host clock skew does not matter). A thread
refreshes the heartbeat; a lock whose heartbeat is older than ``stale_after_s`` belongs to
a crashed orchestrator and is taken over (re-checked just before the atomic rename, which
leaves only a sub-second window for two simultaneous takers). Works over any Transport:
every step is one small POSIX-sh script run through ``transport.exec``.

A busy device (a live holder) is either an error at once (``wait_s=0``: the nightly's
preflight quarantines it) or waited for: the lock is tried again every ``WAIT_POLL_S``
until it is free or ``wait_s`` has passed, telling ``on_wait`` who holds it each time.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone

from harness.errors import HarnessError, TransportError
from harness.transport.base import Transport
from harness.transport.remote_shell import script_argv

log = logging.getLogger(__name__)

WAIT_POLL_S = 2.0  # how often a waiting command tries the lock again

# $1 lockdir  $2 owner json  $3 stale_after_s
ACQUIRE = r"""
d=$1; mkdir -p "${d%/*}" || exit 1
now=$(date +%s)
take() { printf '%s\n' "$2" > "$d/owner.json" && echo "$now" > "$d/heartbeat"; }
if mkdir "$d" 2>/dev/null; then take "$@" && echo ACQUIRED; exit $?; fi
beat() { cat "$d/heartbeat" 2>/dev/null || stat -c %Y "$d" 2>/dev/null || stat -f %m "$d" 2>/dev/null || echo 0; }
hb=$(beat); age=$((now - hb))
if [ "$age" -gt "$3" ]; then
  old=$(cat "$d/owner.json" 2>/dev/null)
  if [ "$(beat)" = "$hb" ] && mv "$d" "$d.stale.$$" 2>/dev/null; then
    rm -rf "$d.stale.$$"
    if mkdir "$d" 2>/dev/null; then take "$@" && echo "TAKEN $age" && printf '%s\n' "$old"; exit $?; fi
  fi
fi
echo "HELD $age"; cat "$d/owner.json" 2>/dev/null; exit 0
"""

# $1 lockdir  $2 token
HEARTBEAT = r"""
d=$1
if grep -qF "$2" "$d/owner.json" 2>/dev/null; then
  date +%s > "$d/heartbeat.part" && mv "$d/heartbeat.part" "$d/heartbeat" && echo OK
else
  echo LOST
fi
"""

RELEASE = r"""
d=$1
if grep -qF "$2" "$d/owner.json" 2>/dev/null; then rm -rf "$d"; fi
exit 0
"""


@dataclass
class DeviceLock:
    """What the holder knows about its lock; ``lost`` turns true if someone took it over."""

    device: str
    path: str
    owner: dict[str, object]
    taken_over_from: dict[str, object] | None = None
    lost: bool = False
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)


class DeviceBusy(HarnessError):
    """The device lock is held by a live orchestrator (named in the message)."""

    def __init__(self, device: str, path: str, holder: dict[str, object], heartbeat_age_s: int,
                 stale_after_s: float, waited_s: float = 0.0) -> None:
        self.device, self.path, self.holder = device, path, holder
        self.heartbeat_age_s, self.stale_after_s, self.waited_s = heartbeat_age_s, stale_after_s, waited_s
        waited = f" (waited {waited_s:.0f} s)" if waited_s else ""
        super().__init__(
            f"device {device} is busy{waited}: locked by {_describe(holder)}, last heartbeat {heartbeat_age_s} s "
            f"ago (a lock is stale after {int(stale_after_s)} s). Wait for that run, or remove {path} on the device "
            f"if it is gone"
        )

    def waiting_line(self, waited_s: float, wait_s: float) -> str:
        """One line for a live display: who holds the device and how long we have waited."""
        return (f"held by {_describe(self.holder)}, last heartbeat {self.heartbeat_age_s} s ago; "
                f"waited {waited_s:.0f} s of {wait_s:.0f} s")


def _device_name(transport: Transport) -> str:
    return str(getattr(transport, "device", "") or transport.kind)


def _sh(transport: Transport, script: str, *args: str) -> str:
    res = transport.exec(script_argv(script, *args), timeout=60)
    if res.rc != 0 or res.timed_out:
        raise TransportError(
            f"device {_device_name(transport)}: lock command failed (rc {res.rc}): {res.stderr.strip()}",
            retryable=not res.timed_out,
        )
    return res.stdout


def _describe(holder: dict[str, object]) -> str:
    return f"{holder.get('owner', '?')} (host {holder.get('host', '?')}, pid {holder.get('pid', '?')}, " \
           f"since {holder.get('since', '?')})"


def _parse_owner(text: str) -> dict[str, object]:
    try:
        got = json.loads(text.strip() or "{}")
        return got if isinstance(got, dict) else {}
    except json.JSONDecodeError:
        return {}


def _holder_is_gone(holder: dict[str, object], me: dict[str, object]) -> bool:
    """True when the holder ran on this host and its process no longer exists, or when it is
    this very owner (same process, same owner string) whose connection dropped."""
    if holder.get("host") != socket.gethostname():
        return False
    if holder.get("owner") == me["owner"] and str(holder.get("pid")) == str(os.getpid()):
        return True
    try:
        pid = int(str(holder.get("pid")))
    except ValueError:
        return False
    if pid == os.getpid():
        return False  # another owner inside this process: a real conflict
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _try_acquire(transport: Transport, owner: str, stale_after_s: float) -> DeviceLock:
    """Take the device lock once (no heartbeat); DeviceBusy naming the holder if held."""
    device = _device_name(transport)
    path = transport.lock_dir
    me: dict[str, object] = {
        "owner": owner,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "token": uuid.uuid4().hex,
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    out = _sh(transport, ACQUIRE, path, json.dumps(me), str(int(stale_after_s)))
    first, _, rest = out.partition("\n")
    status = first.split()
    if status and status[0] == "ACQUIRED":
        return DeviceLock(device, path, me)
    if status and status[0] == "TAKEN":
        old = _parse_owner(rest)
        log.warning("device %s: took over a stale lock (heartbeat %s s old) from %s", device, status[1],
                    _describe(old))
        return DeviceLock(device, path, me, taken_over_from=old)
    if status and status[0] == "HELD":
        holder = _parse_owner(rest)
        if _holder_is_gone(holder, me):  # crashed here, or our own session before a reconnect
            log.warning("device %s: lock holder %s is dead; taking over", device, _describe(holder))
            out = _sh(transport, ACQUIRE, path, json.dumps(me), "-1")
            first, _, rest = out.partition("\n")
            if first.split()[:1] == ["TAKEN"]:
                return DeviceLock(device, path, me, taken_over_from=_parse_owner(rest))
        age = int(status[1]) if len(status) > 1 and status[1].lstrip("-").isdigit() else -1
        raise DeviceBusy(device, path, holder, age, stale_after_s)
    raise TransportError(f"device {device}: unexpected answer from the lock script: {out!r}")


def acquire(
    transport: Transport,
    owner: str,
    *,
    stale_after_s: float = 60.0,
    wait_s: float = 0.0,
    on_wait: Callable[[DeviceBusy, float], None] | None = None,
    stop: threading.Event | None = None,
) -> DeviceLock:
    """Take the device lock (no heartbeat). A live holder: DeviceBusy at once (``wait_s=0``),
    or try again every WAIT_POLL_S for up to ``wait_s`` seconds, calling ``on_wait(busy,
    waited_s)`` each time; ``stop`` (set from another thread, e.g. on Ctrl-C) ends the wait."""
    t0 = time.monotonic()
    while True:
        try:
            return _try_acquire(transport, owner, stale_after_s)
        except DeviceBusy as busy:
            waited = time.monotonic() - t0
            if waited >= wait_s:
                if wait_s > 0:
                    raise DeviceBusy(busy.device, busy.path, busy.holder, busy.heartbeat_age_s, stale_after_s,
                                     waited_s=waited) from None
                raise
            if on_wait is not None:
                on_wait(busy, waited)
            if (stop or threading.Event()).wait(min(WAIT_POLL_S, wait_s - waited)):
                raise HarnessError(f"device {busy.device}: stopped while waiting for its lock "
                                   f"(held by {_describe(busy.holder)})") from None


def release(transport: Transport, lock: DeviceLock) -> None:
    lock._stop.set()
    _sh(transport, RELEASE, lock.path, str(lock.owner["token"]))


def _heartbeat(transport: Transport, lock: DeviceLock, every_s: float) -> None:
    while not lock._stop.wait(every_s):
        try:
            if _sh(transport, HEARTBEAT, lock.path, str(lock.owner["token"])).strip() == "LOST":
                lock.lost = True
                log.error("device %s: our lock at %s was taken over by another orchestrator", lock.device, lock.path)
                return
        except (TransportError, OSError) as e:  # a flaky link: try again next beat
            log.warning("device %s: lock heartbeat failed: %s", lock.device, e)


@contextmanager
def device_lock(
    transport: Transport,
    owner: str,
    *,
    stale_after_s: float = 60.0,
    heartbeat_s: float = 10.0,
    wait_s: float = 0.0,
    on_wait: Callable[[DeviceBusy, float], None] | None = None,
    stop: threading.Event | None = None,
) -> Iterator[DeviceLock]:
    """Hold the device for the duration of the block, heartbeating in a thread (waiting for a
    busy device as ``acquire`` does)."""
    if heartbeat_s >= stale_after_s:
        raise ValueError("heartbeat_s must be well below stale_after_s")
    lock = acquire(transport, owner, stale_after_s=stale_after_s, wait_s=wait_s, on_wait=on_wait, stop=stop)
    beat = threading.Thread(target=_heartbeat, args=(transport, lock, heartbeat_s),
                            name=f"lock-heartbeat-{lock.device}", daemon=True)
    beat.start()
    try:
        yield lock
    finally:
        lock._stop.set()
        beat.join(timeout=heartbeat_s + 65)
        try:
            release(transport, lock)
        except TransportError as e:  # the device went away: the lock goes stale on its own
            log.warning("device %s: could not release lock %s: %s", lock.device, lock.path, e)
