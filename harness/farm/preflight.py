"""Preflight: is a device fit to run tonight? Reachable, battery, temperature, storage,
runner + ORT present, not held by another orchestrator.

Every check runs through the device's own transport; a failure gives one reason naming
the device and the limit, and the night quarantines that device with it. Missing sensors
(no battery on a board, no thermal zone in a container) are facts, not failures.
"""

from __future__ import annotations

import os
import platform
import posixpath
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from typing import Any

from harness.config.farm import Preflight
from harness.config.models import DeviceProfile
from harness.config.probes import ThermalConfig
from harness.errors import HarnessError
from harness.probes import devicefs, thermal
from harness.session.runner_env import install_runner, probe_runner
from harness.transport.base import Transport
from harness.transport.factory import open_transport
from harness.transport.lock import device_lock


@dataclass
class PreflightResult:
    device: str
    ok: bool
    reason: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class NotFit(Exception):
    """A device failed one preflight check (the message is the quarantine reason)."""


def battery_dirs(profile: DeviceProfile, cfg: Preflight) -> list[str]:
    """The profile's fuel gauge folder first (it may be a rig's or vendor's path), then the farm's globs."""
    dirs = []
    if profile.probes.power.source == "battery":
        dirs.append(posixpath.dirname(profile.probes.power.current_path))
    return dirs + [d for d in cfg.battery_dirs if d not in dirs]


def read_battery(t: Transport, dirs: Sequence[str]) -> tuple[float | None, str | None]:
    """(level %, status text such as Charging / Discharging / Full) of the first battery found."""
    found = devicefs.expand_globs(t, [posixpath.join(d, "capacity") for d in dirs])
    if not found:
        return None, None
    base = posixpath.dirname(found[0])
    values = devicefs.read_first_lines(t, [found[0], posixpath.join(base, "status")])
    try:
        level = float(values.get(found[0], ""))
    except ValueError:
        level = None
    return level, values.get(posixpath.join(base, "status")) or None


def read_max_temp(t: Transport, profile: DeviceProfile, cfg: Preflight) -> tuple[float | None, str | None]:
    tc = profile.probes.thermal
    zones_cfg = tc if tc.zones else ThermalConfig(zones=cfg.thermal_zones)
    temps = thermal.read_temps(t, thermal.resolve_zones(zones_cfg, t))
    if not temps:
        return None, None
    zone = max(temps, key=lambda k: temps[k])
    return temps[zone], zone


def check_device(
    profile: DeviceProfile, cfg: Preflight, factory: Callable[[DeviceProfile], Transport] = open_transport
) -> PreflightResult:
    t0 = time.monotonic()
    res = PreflightResult(profile.name, True)
    t: Transport | None = None
    try:
        try:
            t = factory(profile)
            r = t.exec(["true"], timeout=cfg.timeout_s)
        except (HarnessError, OSError) as exc:
            raise NotFit(f"unreachable: {exc}") from exc
        if r.timed_out or r.rc != 0:
            raise NotFit(f"unreachable: `true` failed on the device (rc {r.rc}): {r.stderr.strip()[-300:]}")
        res.facts["round_trip_ms"] = round((time.monotonic() - t0) * 1000, 1)
        _fit(t, profile, cfg, res.facts)
    except NotFit as exc:
        res.ok, res.reason = False, str(exc)
    except (HarnessError, OSError) as exc:
        res.ok, res.reason = False, f"preflight error: {exc}"
    finally:
        if t is not None:
            t.close()
        res.duration_s = round(time.monotonic() - t0, 3)
    return res


def _fit(t: Transport, profile: DeviceProfile, cfg: Preflight, facts: dict[str, Any]) -> None:
    """Every check under the device lock: preflight installs the runner, which must never
    happen under another orchestrator's running cell. A live holder makes the device unfit;
    a stale lock (crashed holder) is taken over and reported."""
    owner = f"harness nightly preflight on {platform.node()} pid {os.getpid()}"
    with ExitStack() as stack:
        try:
            held = stack.enter_context(device_lock(t, owner))  # heartbeats: a slow runner push stays locked
        except HarnessError as exc:
            raise NotFit(str(exc)) from exc
        if held.taken_over_from:
            facts["stale_lock_taken_from"] = held.taken_over_from
        _fit_locked(t, profile, cfg, facts)


def _fit_locked(t: Transport, profile: DeviceProfile, cfg: Preflight, facts: dict[str, Any]) -> None:
    level, status = read_battery(t, battery_dirs(profile, cfg))
    facts.update(battery_pct=level, battery_status=status)
    charging = status is not None and status.lower() in ("charging", "full")
    if level is not None and cfg.min_battery_pct is not None and level < cfg.min_battery_pct and not charging:
        raise NotFit(f"battery {level:g} % < {cfg.min_battery_pct:g} % and not charging ({status})")
    if level is not None and cfg.require_charging and not charging:
        raise NotFit(f"battery not charging ({status}); preflight.require_charging is set")
    temp, zone = read_max_temp(t, profile, cfg)
    facts.update(temp_c=temp, temp_zone=zone)
    if temp is not None and cfg.max_temp_c is not None and temp > cfg.max_temp_c:
        raise NotFit(f"too hot: {zone} at {temp:.1f} °C > {cfg.max_temp_c:g} °C")
    t.makedirs(t.workdir)
    free = t.free_bytes(t.workdir)
    facts["free_mb"] = None if free is None else round(free / 2**20, 1)
    if free is not None and cfg.min_free_mb is not None and free / 2**20 < cfg.min_free_mb:
        raise NotFit(f"free storage {free / 2**20:.0f} MB at {t.workdir} < {cfg.min_free_mb:.0f} MB")
    try:
        env = probe_runner(t, profile, install_runner(t, profile))
    except (HarnessError, OSError) as exc:  # the local transport raises OSError for a missing binary
        raise NotFit(f"runner not ready: {exc}") from exc
    facts.update(python=env.get("python"), onnxruntime=env.get("onnxruntime"))


def check_all(
    profiles: Sequence[DeviceProfile], cfg: Preflight,
    factory: Callable[[DeviceProfile], Transport] = open_transport,
) -> list[PreflightResult]:
    """Every device at once (a farm's preflight takes as long as its slowest device)."""
    if not profiles:
        return []
    with ThreadPoolExecutor(max_workers=min(32, len(profiles)), thread_name_prefix="preflight") as ex:
        return list(ex.map(lambda p: check_device(p, cfg, factory), profiles))
