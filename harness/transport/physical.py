"""A device is a physical thing; a profile is a view of it.

Two profiles can name one machine (``devices/local.yaml`` and a copy with one thread instead of
two, or two ssh profiles of one board). What must be exclusive — the device lock, the orphan
sweep that runs under it, the measured windows — is keyed by the machine, not by the profile:
``physical_key`` names it (for ``local``: this host), and the runner drives the profiles of one
machine one after the other, never at once. Across processes, a host-wide lock per machine does the
same (``local_lock_dir``, ``host_lock_dir``).
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
from pathlib import Path

from harness.config.models import AdbTransportConfig, DeviceProfile, LocalTransportConfig, SshTransportConfig


def physical_key(profile: DeviceProfile) -> str:
    cfg = profile.transport
    if isinstance(cfg, LocalTransportConfig):
        return f"local:{socket.gethostname()}"
    if isinstance(cfg, SshTransportConfig):  # the board, whichever of its users logs in
        via = f" via {cfg.proxy_jump}" if cfg.proxy_jump else ""
        return f"ssh:{cfg.host}:{cfg.port or 22}{via}"
    if isinstance(cfg, AdbTransportConfig):
        return f"adb:{cfg.server or 'local'}/{cfg.serial}"
    return f"{cfg.kind}:{profile.name}"


def default_local_workdir() -> Path:
    return Path(os.environ.get("HARNESS_LOCAL_WORKDIR", "~/.cache/harness/local")).expanduser()


#: where the host-wide locks of this machine live (shared by every user and every workdir)
HOST_LOCKS = "harness-device-locks"


def host_identity() -> str:
    """This machine's identity: ``/etc/machine-id`` (stable across hostname changes, distinct for
    containers sharing a name), else the host name; hashed to a short file-name-safe id."""
    ident = ""
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            ident = Path(path).read_text().strip()
        except OSError:
            continue
        if ident:
            break
    ident = ident or socket.gethostname()
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def host_locks_root() -> Path:
    """This host's folder of device locks: ``$HARNESS_HOST_LOCKS``, else
    ``<tmp>/harness-device-locks/<host id>``, world-writable and sticky (like ``/tmp``) so every user's
    runs take the same locks. A stale lock of another user's dead process cannot be moved aside by us
    (sticky bit): it is waited for until its owner or root removes it — never taken by guess."""
    env = os.environ.get("HARNESS_HOST_LOCKS")
    if env:
        return Path(env).expanduser()
    root = Path(tempfile.gettempdir()) / HOST_LOCKS
    here = root / host_identity()
    for d in (root, here):
        try:
            d.mkdir(exist_ok=True)
            if d.stat().st_uid == os.getuid():
                d.chmod(0o1777)
        except OSError:  # another user made it (fine) or tmp is read-only (the lock script says so)
            pass
    return here


def local_lock_dir() -> str:
    """The lock of this host as a device, whatever workdir a profile names, whatever
    ``$HARNESS_LOCAL_WORKDIR`` or ``$HOME`` the process has: ``$HARNESS_LOCAL_LOCK`` when set
    (tests, or a site that wants it elsewhere), else ``local`` in ``host_locks_root()``. Two
    `harness run` processes of any profiles of ``local`` therefore take one lock, and the second
    waits for the first (or fails with ``--no-wait``), naming its holder and run id."""
    env = os.environ.get("HARNESS_LOCAL_LOCK")
    return str(Path(env).expanduser() if env else host_locks_root() / "local")


def host_lock_dir(key: str) -> str:
    """The host-side lock of a remote device (``physical_key``): one per board, whatever workdir or
    profile names it, so two `harness run` processes on this host never drive one board at once.
    The device-side lock (``<workdir>/lock`` on the board) is kept as well: it is what stops a second
    *host* (same workdir). Two hosts driving one board through different workdirs are not seen by
    either lock: give a board's profiles one workdir."""
    slug = "".join(c if c.isalnum() or c in "._-" else "_" for c in key)[:80]
    return str(host_locks_root() / f"{slug}-{hashlib.sha256(key.encode()).hexdigest()[:12]}")
