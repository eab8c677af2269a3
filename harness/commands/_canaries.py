"""Which workload is each device's canary: --canary options, then `canary` labels in devices/*.yaml."""

from __future__ import annotations

from harness.errors import HarnessError


def parse_canaries(options: list[str] | None) -> dict[str, str]:
    """'WORKLOAD' (every device) or 'DEVICE=WORKLOAD'; device YAML labels fill in the rest."""
    out: dict[str, str] = {}
    try:
        from harness.config.loader import load_devices

        for name, (profile, _path) in load_devices().items():
            label = getattr(profile, "labels", {}).get("canary")
            if label:
                out[name] = label
    except Exception:  # no devices/ folder here, or invalid YAML: `harness validate` reports that
        pass
    for opt in options or []:
        device, sep, workload = opt.partition("=")
        if not sep:
            device, workload = "*", device
        if not workload:
            raise HarnessError(f"--canary {opt!r}: expected WORKLOAD or DEVICE=WORKLOAD")
        out[device] = workload
    return out
