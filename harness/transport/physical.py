"""A device is a physical thing; a profile is a view of it.

Two profiles can name one machine (``devices/local.yaml`` and a copy with one thread instead of
two, or two ssh profiles of one board). What must be exclusive — the device lock, the orphan
sweep that runs under it, the measured windows — is keyed by the machine, not by the profile:
``physical_key`` names it (for ``local``: this host), and the runner drives the profiles of one
machine one after the other, never at once.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from harness.config.models import AdbTransportConfig, DeviceProfile, LocalTransportConfig, SshTransportConfig


def physical_key(profile: DeviceProfile) -> str:
    cfg = profile.transport
    if isinstance(cfg, LocalTransportConfig):
        return f"local:{socket.gethostname()}"
    if isinstance(cfg, SshTransportConfig):
        user = f"{cfg.user}@" if cfg.user else ""
        via = f" via {cfg.proxy_jump}" if cfg.proxy_jump else ""
        return f"ssh:{user}{cfg.host}:{cfg.port or 22}{via}"
    if isinstance(cfg, AdbTransportConfig):
        return f"adb:{cfg.server or 'local'}/{cfg.serial}"
    return f"{cfg.kind}:{profile.name}"


def default_local_workdir() -> Path:
    return Path(os.environ.get("HARNESS_LOCAL_WORKDIR", "~/.cache/harness/local")).expanduser()


def local_lock_dir() -> str:
    """The lock of this host as a device, whatever workdir a local profile names:
    ``$HARNESS_LOCAL_LOCK``, else ``lock/`` in the default local workdir (one per user)."""
    env = os.environ.get("HARNESS_LOCAL_LOCK")
    return str(Path(env).expanduser() if env else default_local_workdir() / "lock")
