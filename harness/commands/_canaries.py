"""Which workload is each device's canary: `canary` labels in devices/*.yaml, then --canary options."""

from __future__ import annotations

from harness.errors import HarnessError


def parse_canaries(options: list[str] | None) -> dict[str, str]:
    """'WORKLOAD' (every device) or 'DEVICE=WORKLOAD' on top of the device profiles' labels."""
    from harness.results.history_source import device_canaries

    out = device_canaries()
    for opt in options or []:
        device, sep, workload = opt.partition("=")
        if not sep:
            device, workload = "*", device
        if not workload:
            raise HarnessError(f"--canary {opt!r}: expected WORKLOAD or DEVICE=WORKLOAD")
        out[device] = workload
    return out
