"""Throttling detection: cooling devices, Pi ``get_throttled``, Android thermal status.

Any hit adds a flag starting with ``throttled:``; a throttled cell must never pass as a
normal one. Frequency-below-max detection lives in clocks.py (it needs the clock data).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from harness.config.probes import ThrottlingConfig
from harness.probes import devicefs
from harness.transport.base import Transport

PI_PROBE = "throttle.pi"
ANDROID_PROBE = "throttle.android"
COOLING_PREFIX = "cooling/"

PI_NOW_BITS = {0: "under-voltage", 1: "arm frequency capped", 2: "throttled", 3: "soft temperature limit"}
PI_SINCE_BOOT_SHIFT = 16
ANDROID_STATUS = {0: "none", 1: "light", 2: "moderate", 3: "severe", 4: "critical", 5: "emergency", 6: "shutdown"}


# ---------------------------------------------------------------------------- Raspberry Pi
def parse_get_throttled(text: str) -> int | None:
    """``throttled=0x50005`` -> 0x50005."""
    m = re.search(r"throttled=(0x[0-9a-fA-F]+|\d+)", text or "")
    return int(m.group(1), 0) if m else None


def pi_bits(value: int) -> tuple[list[str], list[str]]:
    """(conditions now, conditions since boot) named from get_throttled bits 0-3 and 16-19."""
    now = [name for bit, name in PI_NOW_BITS.items() if value & (1 << bit)]
    since = [name for bit, name in PI_NOW_BITS.items() if value & (1 << (bit + PI_SINCE_BOOT_SHIFT))]
    return now, since


def pi_flags(texts: list[str]) -> tuple[list[str], dict[str, Any]]:
    values = [v for v in (parse_get_throttled(t) for t in texts) if v is not None]
    if not values:
        return [], {}
    flags: list[str] = []
    now_seen: list[str] = []
    for v in values:
        now_seen += [n for n in pi_bits(v)[0] if n not in now_seen]
    if now_seen:
        flags.append(f"throttled: Pi get_throttled reports {', '.join(now_seen)} during the cell")
    first_since = set(pi_bits(values[0])[1])
    new_since = [n for n in pi_bits(values[-1])[1] if n not in first_since]
    if new_since and not now_seen:
        flags.append(f"throttled: Pi get_throttled: {', '.join(new_since)} occurred during the cell")
    info = {"get_throttled": [hex(v) for v in sorted(set(values))], "since_boot": pi_bits(values[-1])[1]}
    return flags, info


# ---------------------------------------------------------------------------- Android
def parse_thermal_status(text: str) -> int | None:
    """``Thermal Status: 2`` from ``dumpsys thermalservice``."""
    m = re.search(r"Thermal Status:\s*(\d+)", text or "")
    return int(m.group(1)) if m else None


def android_flags(texts: list[str]) -> tuple[list[str], dict[str, Any]]:
    statuses = [s for s in (parse_thermal_status(t) for t in texts) if s is not None]
    if not statuses:
        return [], {}
    worst = max(statuses)
    flags = []
    if worst > 0:
        flags.append(f"throttled: Android thermal status {worst} ({ANDROID_STATUS.get(worst, '?')}) during the cell")
    return flags, {"android_thermal_status_max": worst}


# ---------------------------------------------------------------------------- cooling devices
def resolve_cooling(cfg: ThrottlingConfig, transport: Transport) -> dict[str, str]:
    """{snapshot name: cur_state path} for matching cooling devices (max_state alongside)."""
    if not cfg.cooling_devices:
        return {}
    dirs = devicefs.expand_globs(transport, [cfg.cooling_devices])
    types = devicefs.read_first_lines(transport, [posixpath.join(d, "type") for d in dirs])
    wanted = [w.lower() for w in cfg.cooling_types]
    snaps: dict[str, str] = {}
    for d in dirs:
        ctype = types.get(posixpath.join(d, "type"), "").strip() or posixpath.basename(d)
        if wanted and not any(w in ctype.lower() for w in wanted):
            continue
        key = f"{COOLING_PREFIX}{ctype}#{posixpath.basename(d)}"
        snaps[key + "/cur_state"] = posixpath.join(d, "cur_state")
        snaps[key + "/max_state"] = posixpath.join(d, "max_state")
    return snaps


def _int(text: Any) -> int | None:
    try:
        return int(str(text).split()[0])
    except (ValueError, IndexError):
        return None


def cooling_flags(snapshots: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    flags: list[str] = []
    active: dict[str, dict[str, str]] = {}
    for when in ("before", "after"):
        snap = snapshots.get(when) or {}
        for name, text in snap.items():
            if not (name.startswith(COOLING_PREFIX) and name.endswith("/cur_state")):
                continue
            cur = _int(text)
            if cur and cur > 0:
                dev = name[len(COOLING_PREFIX) : -len("/cur_state")]
                mx = _int(snap.get(name[: -len("cur_state")] + "max_state"))
                active.setdefault(dev, {})[when] = f"{cur}/{mx if mx is not None else '?'}"
    for dev, states in active.items():
        when = " and ".join(f"{k} ({v})" for k, v in states.items())
        flags.append(f"throttled: cooling device {dev} active {when} the cell")
    return flags, ({"cooling_active": active} if active else {})


# ---------------------------------------------------------------------------- plan / interpret
def plan_specs(cfg: ThrottlingConfig, transport: Transport) -> tuple[list[dict[str, Any]], dict[str, str]]:
    specs: list[dict[str, Any]] = []
    if cfg.pi_get_throttled:
        specs.append(
            {"name": PI_PROBE, "kind": "command", "argv": ["vcgencmd", "get_throttled"], "interval_s": cfg.status_interval_s}
        )
    if cfg.android_thermal_status:
        specs.append(
            {"name": ANDROID_PROBE, "kind": "command", "argv": ["dumpsys", "thermalservice"], "interval_s": cfg.status_interval_s}
        )
    return specs, resolve_cooling(cfg, transport)


def interpret(result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    probes = result.get("probes") or {}
    flags: list[str] = []
    info: dict[str, Any] = {}
    for name, fn in ((PI_PROBE, pi_flags), (ANDROID_PROBE, android_flags)):
        rec = probes.get(name)
        if rec is None:
            continue
        f, i = fn(list(rec.get("v", [])))
        flags += f
        info.update(i)
        if rec.get("error"):
            info[name + ".error"] = rec["error"]
    f, i = cooling_flags(result.get("snapshots") or {})
    return flags + f, {**info, **i}
