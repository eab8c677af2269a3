"""Pinning a benchmark's compared processes to the same CPUs (taskset), so the scheduler cannot place
them differently: a VM's cores need not run alike, and on this host one vCPU ran a decode step at
twice the other's time for seconds at a stretch while the other did not."""

from __future__ import annotations

import os
import shutil


def taskset_prefix(threads: int, setting: str) -> tuple[list[str], str]:
    """The argv prefix for a process of ``threads`` threads, and what it pins to (for the report).

    ``setting`` (a benchmark's environment variable): "auto" = the last CPUs this process may use, as
    many as the threads; "none" = unpinned; otherwise a taskset CPU list ("1", "0-3").
    """
    if setting == "none" or shutil.which("taskset") is None:
        return [], "unpinned"
    cpus = setting if setting != "auto" else ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[-threads:])
    return ["taskset", "-c", cpus], cpus
