"""Is a device reachable right now? Connect, run `true`, read its facts — bounded in time."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from harness.config.models import DeviceProfile
from harness.errors import HarnessError
from harness.transport.base import Transport
from harness.transport.factory import open_transport


@dataclass
class Reachability:
    device: str
    ok: bool
    detail: str
    round_trip_ms: float | None = None
    facts: dict[str, Any] = field(default_factory=dict)


def check(profile: DeviceProfile, factory: Callable[[DeviceProfile], Transport] = open_transport,
          timeout_s: float = 15.0) -> Reachability:
    try:
        t = factory(profile)
    except (HarnessError, OSError) as exc:
        return Reachability(profile.name, False, str(exc))
    try:
        t0 = time.monotonic()
        res = t.exec(["true"], timeout=timeout_s)
        rtt = (time.monotonic() - t0) * 1000
        if res.timed_out or res.rc != 0:
            return Reachability(profile.name, False, f"`true` failed on the device (rc {res.rc}): {res.stderr.strip()}")
        facts = t.info()
        desc = " · ".join(str(facts[k]) for k in ("model", "os", "abi") if facts.get(k))
        return Reachability(profile.name, True, desc, rtt, facts)
    except (HarnessError, OSError) as exc:
        return Reachability(profile.name, False, str(exc))
    finally:
        t.close()


def check_all(profiles: Sequence[DeviceProfile], timeout_s: float = 15.0) -> list[Reachability]:
    if not profiles:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(profiles))) as ex:
        return list(ex.map(lambda p: check(p, timeout_s=timeout_s), profiles))
