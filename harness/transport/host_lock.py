"""The host-side lock of a remote device: the device lock held in this host's folder of locks.

The device lock (harness.transport.lock) lives on the device in the profile's workdir; two profiles
of one board with different workdirs would each take their own. This lock is keyed by the board
itself (``physical_key``: ssh host:port, adb server/serial) and held on this host with the same
protocol, through the local shell, before the device's own lock is taken.
"""

from __future__ import annotations

from pathlib import Path

from harness.config.models import DeviceProfile, LocalTransportConfig
from harness.transport.local import LocalTransport
from harness.transport.physical import host_lock_dir, physical_key


class HostSideLock(LocalTransport):
    """This host, as the place where one remote device's host-side lock lives."""

    def __init__(self, profile: DeviceProfile) -> None:
        self._path = host_lock_dir(physical_key(profile))
        super().__init__(str(Path(self._path).parent))
        self.device = profile.name  # messages name the profile that waits, as the device lock does

    @property
    def lock_dir(self) -> str:
        return self._path


def host_side_lock(profile: DeviceProfile) -> HostSideLock | None:
    """None for ``local``: the device is this host, and its one lock is already host-wide."""
    return None if isinstance(profile.transport, LocalTransportConfig) else HostSideLock(profile)
