"""Open the transport a device profile declares."""

from __future__ import annotations

from harness.config.models import AdbTransportConfig, DeviceProfile, LocalTransportConfig, SshTransportConfig
from harness.errors import HarnessError
from harness.transport.base import Transport
from harness.transport.local import LocalTransport


def open_transport(profile: DeviceProfile) -> Transport:
    cfg = profile.transport
    if isinstance(cfg, LocalTransportConfig):
        return LocalTransport(cfg.workdir)
    if isinstance(cfg, SshTransportConfig):
        from harness.transport.ssh import SshTransport

        return SshTransport(cfg, profile.name)
    if isinstance(cfg, AdbTransportConfig):
        from harness.transport.adb import AdbTransport

        return AdbTransport(cfg, profile.name)
    raise HarnessError(f"device {profile.name}: transport {cfg.kind!r} is not available in this harness build")
