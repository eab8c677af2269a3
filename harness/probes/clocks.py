"""CPU clock and governor state, recorded as info (never in the device fingerprint).

Per cpufreq policy: governor, min/max/cur kHz before and after, ``scaling_cur_freq``
sampled during the cell. Throttling shows up as a cap (``scaling_max_freq`` lowered
during the cell) or, where the profile pins the performance governor (``expect_max``),
as a core running below ``below_max_ratio`` x max in a measured window.
Clock commands (``nvpmodel -q``, ``jetson_clocks --show``) run once before the cell.
"""

from __future__ import annotations

import posixpath
from typing import Any

import numpy as np

from harness.config.probes import ClocksConfig
from harness.probes import devicefs
from harness.transport.base import Transport

PROBE = "clocks"
SNAP_PREFIX = "cpufreq/"
EXTRA_PREFIX = "clock/"
FILES = ("scaling_governor", "scaling_cur_freq", "scaling_min_freq", "scaling_max_freq", "cpuinfo_max_freq")


def resolve_policies(cfg: ClocksConfig, transport: Transport) -> list[str]:
    return devicefs.expand_globs(transport, [cfg.cpufreq]) if cfg.cpufreq else []


def plan_specs(cfg: ClocksConfig, policies: list[str]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    snaps = {f"{SNAP_PREFIX}{posixpath.basename(p)}/{f}": posixpath.join(p, f) for p in policies for f in FILES}
    snaps.update({EXTRA_PREFIX + k: v for k, v in cfg.extra.items()})
    specs: list[dict[str, Any]] = []
    if policies:
        cur = [posixpath.join(p, "scaling_cur_freq") for p in policies]
        specs.append({"name": PROBE, "kind": "command", "argv": devicefs.head_argv(cur), "interval_s": cfg.interval_s})
    return specs, snaps


def run_commands(cfg: ClocksConfig, transport: Transport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, argv in cfg.commands.items():
        res = transport.exec(argv, timeout=30)
        out[name] = res.stdout.strip() if res.rc == 0 else {"rc": res.rc, "stderr": res.stderr.strip()[-500:]}
    return out


def _num(text: Any) -> float | None:
    try:
        return float(str(text).split()[0])
    except (ValueError, IndexError, TypeError):
        return None


def _policy_state(snap: dict[str, Any], policy: str) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for f in FILES:
        text = snap.get(f"{SNAP_PREFIX}{policy}/{f}")
        if text is not None:
            state[f] = text if f == "scaling_governor" else _num(text)
    return state


def _ghz(khz: float | None) -> str:
    return f"{khz / 1e6:.2f}" if khz else "?"


def interpret(cfg: ClocksConfig, policies: list[str], result: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    snaps = result.get("snapshots") or {}
    before, after = snaps.get("before") or {}, snaps.get("after") or {}
    flags: list[str] = []
    info: dict[str, Any] = {"policies": {}}
    # sampled cur freq inside the steady windows
    rec = (result.get("probes") or {}).get(PROBE) or {}
    windows = [(float(w[0]), float(w[1])) for k, w in (result.get("windows") or {}).items() if k != "idle" and w]
    sampled: dict[str, list[float]] = {}
    for t, text in zip(rec.get("t", []), rec.get("v", [])):
        if windows and not any(a <= t <= b for a, b in windows):
            continue
        for path, v in devicefs.parse_head(text).items():
            khz = _num(v)
            if khz is not None:
                sampled.setdefault(posixpath.basename(posixpath.dirname(path)), []).append(khz)
    for p in policies:
        name = posixpath.basename(p)
        b, a = _policy_state(before, name), _policy_state(after, name)
        hw_max = a.get("cpuinfo_max_freq") or b.get("cpuinfo_max_freq")
        entry: dict[str, Any] = {"before": b, "after": a}
        cur = np.asarray(sampled.get(name, []), dtype=float)
        if cur.size:
            entry["window_khz"] = {"min": float(cur.min()), "median": float(np.median(cur)), "max": float(cur.max())}
        cap_b, cap_a = b.get("scaling_max_freq"), a.get("scaling_max_freq")
        if cap_b and cap_a and cap_a < cap_b:
            flags.append(f"throttled: {name} max frequency capped {_ghz(cap_b)} -> {_ghz(cap_a)} GHz during the cell")
        elif hw_max and cap_a and cap_a < hw_max:
            entry["capped"] = f"scaling_max_freq {_ghz(cap_a)} of {_ghz(hw_max)} GHz"
        if cfg.expect_max and hw_max and cur.size:
            low = float(cur.min())
            if low < cfg.below_max_ratio * hw_max:
                flags.append(f"throttled: {name} at {_ghz(low)}/{_ghz(hw_max)} GHz in the measured window")
        info["policies"][name] = entry
    extra = {
        k[len(EXTRA_PREFIX) :]: {"before": before.get(k), "after": after.get(k)}
        for k in set(before) | set(after)
        if k.startswith(EXTRA_PREFIX) and not k.endswith(".error")
    }
    if extra:
        info["extra"] = extra
    if rec.get("error"):
        info["error"] = rec["error"]
    return flags, info
