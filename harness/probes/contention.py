"""Host contention: how much CPU other processes took while a cell was measured.

The runner reports, per steady window, the machine's busy CPU seconds (``/proc/stat``) and
its own CPU seconds (every thread plus reaped children); the rest is what others used.
``host_contention_cores`` is that rest per wall second over all steady windows (0.5 = half a
core busy with something else). The 1-minute load average before the cell is kept beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.analysis.flags import Flag, contention
from harness.records import CONTENTION_METRIC, CPU_COUNT_METRIC, MetricValue

LOADAVG_METRIC = "host_loadavg_before"
CONTENTION_METHOD = "/proc/stat busy CPU time minus the runner's own, per wall second of the steady windows"
LOADAVG_METHOD = "1-minute load average before the cell"
RETRIES_METRIC = "host_contention_retries"
RETRIES_METHOD = "steady windows measured again because others took more than measure.contention_cores"


@dataclass
class Contention:
    metrics: list[MetricValue] = field(default_factory=list)
    flag: Flag | None = None
    cores: float | None = None
    retries: int = 0  # steady windows the runner measured again for contention


def others_cores(windows: Mapping[str, Mapping[str, Any]]) -> float | None:
    """CPU seconds other processes used per wall second, over every window that has readings."""
    wall = busy_others = 0.0
    for w in windows.values():
        try:
            wall_s, busy_s, self_s = float(w["wall_s"]), float(w["busy_s"]), float(w["self_s"])
        except (KeyError, TypeError, ValueError):
            continue
        if wall_s <= 0:
            continue
        wall += wall_s
        busy_others += max(0.0, busy_s - self_s)  # jiffy rounding can put busy a tick below self
    return busy_others / wall if wall > 0 else None


def interpret(result: Mapping[str, Any]) -> Contention:
    load = result.get("load") or {}
    out = Contention()
    cores = others_cores(load.get("windows") or {})
    if cores is not None:
        out.cores = cores
        out.metrics.append(MetricValue(CONTENTION_METRIC, cores, "cores", "info", CONTENTION_METHOD))
        out.flag = contention(cores)
    retries = load.get("retries") or {}
    retried = sum(int(v) for v in retries.values() if isinstance(v, int) and v > 0) if isinstance(retries, dict) else 0
    if retried:
        out.retries = retried
        out.metrics.append(MetricValue(RETRIES_METRIC, float(retried), "windows", "info", RETRIES_METHOD))
        if out.flag is not None and retried:
            out.flag = Flag(out.flag.code, out.flag.message + f"; {retried} steady window(s) measured again for "
                            "contention, the quietest kept", {**out.flag.extra, "retries": retried})
    count = load.get("cpu_count")
    if isinstance(count, int) and count > 0:
        out.metrics.append(MetricValue(CPU_COUNT_METRIC, float(count), "cores", "info", "CPU count of the device"))
    before = load.get("loadavg_before")
    if isinstance(before, list) and before:
        out.metrics.append(MetricValue(LOADAVG_METRIC, float(before[0]), "", "info", LOADAVG_METHOD))
    return out
