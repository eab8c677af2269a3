"""Test helpers: process lookups on this host (the rigs execute here) and a shared transport fixture."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path


def live_pids_with(token: str) -> list[int]:
    """PIDs (not zombies) whose command line contains token."""
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == os.getpid():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (d / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token in cmd and state != "Z":
            found.append(int(d.name))
    return found


def wait_until_gone(token: str, within_s: float = 10.0) -> list[int]:
    """Poll until no live process carries token; returns what is left at the deadline."""
    deadline = time.monotonic() + within_s
    while (left := live_pids_with(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def wait_until_running(token: str, within_s: float = 10.0, count: int = 1) -> list[int]:
    deadline = time.monotonic() + within_s
    while len(got := live_pids_with(token)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return got


def unique_sleep() -> str:
    """A sleep duration no other process uses: it marks the processes a test spawns."""
    return str(random.randint(10**8, 10**9 - 1))
