"""Memory numbers with their method: the agent's VmHWM / ru_maxrss, Android PSS.

A native runner on Android has no VmHWM of its own to report from Python, and PSS is
what Android itself accounts: ``dumpsys meminfo <pid|package>``. Poll it while the runner
runs and keep the peak (``peak_pss``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.records import MetricValue
from harness.transport.base import Transport

_TOTAL_PSS = re.compile(r"TOTAL PSS:\s+(\d+)")
_TOTAL_RSS = re.compile(r"TOTAL RSS:\s+(\d+)")
_TOTAL_ROW = re.compile(r"^\s*TOTAL\s+(\d+)\s", re.MULTILINE)  # first column of the table is Pss Total
_HEADER = re.compile(r"\*\* MEMINFO in pid (\d+) \[([^\]]*)\] \*\*")


@dataclass(frozen=True)
class Meminfo:
    pss_kb: int
    rss_kb: int | None
    pid: int | None
    process: str | None

    @property
    def pss_mb(self) -> float:
        return self.pss_kb / 1024.0


def parse_dumpsys_meminfo(text: str) -> Meminfo | None:
    """TOTAL PSS (KB) from ``dumpsys meminfo <pid>``; None when the process is gone."""
    m = _TOTAL_PSS.search(text) or _TOTAL_ROW.search(text)
    if not m:
        return None
    rss = _TOTAL_RSS.search(text)
    head = _HEADER.search(text)
    return Meminfo(
        pss_kb=int(m.group(1)),
        rss_kb=int(rss.group(1)) if rss else None,
        pid=int(head.group(1)) if head else None,
        process=head.group(2) if head else None,
    )


def meminfo_argv(target: int | str) -> list[str]:
    return ["dumpsys", "meminfo", str(target)]


def read_pss(transport: Transport, target: int | str, timeout: float = 20.0) -> Meminfo | None:
    """One ``dumpsys meminfo`` of a pid or package on the device."""
    res = transport.exec(meminfo_argv(target), timeout=timeout)
    return parse_dumpsys_meminfo(res.stdout) if res.rc == 0 else None


# In a command probe's argv, this item stands for the runner's own pid (job protocol 1):
# the host cannot know the pid of a process it has not started yet.
RUNNER_PID = "{pid}"
PSS_PROBE = "memory.pss"


def pss_probe_spec(target: int | str = RUNNER_PID, interval_s: float = 1.0) -> dict[str, Any]:
    """An agent/runner probe spec polling PSS during the cell (default: the runner itself)."""
    return {"name": PSS_PROBE, "kind": "command", "argv": meminfo_argv(target), "interval_s": interval_s}


def peak_pss(readings: Iterable[Meminfo | None]) -> MetricValue | None:
    got = [r for r in readings if r is not None]
    if not got:
        return None
    peak = max(r.pss_mb for r in got)
    return MetricValue("peak_pss_mb", peak, "MB", "deterministic", f"dumpsys meminfo TOTAL PSS (max of {len(got)})")


def peak_pss_from_probe(result: dict[str, Any]) -> MetricValue | None:
    rec = (result.get("probes") or {}).get(PSS_PROBE) or {}
    return peak_pss(parse_dumpsys_meminfo(t) for t in rec.get("v", []))


def agent_peak_memory(result: dict[str, Any]) -> MetricValue | None:
    """The agent's peak RSS with the method it used (VmHWM or ru_maxrss)."""
    mem = result.get("memory") or {}
    if mem.get("peak_rss_mb") is None:
        return None
    return MetricValue("peak_rss_mb", float(mem["peak_rss_mb"]), "MB", "deterministic", mem.get("method"))
