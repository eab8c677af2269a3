"""Fake device trees and commands in the real formats, served through the LOCAL transport.

Honest label: these files prove the harness's parsing and plumbing, not a device's numbers.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness.transport.local import LocalTransport


class FakeDevice:
    """A temp dir standing in for a device's filesystem, plus a bin/ dir put first on PATH."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bin = root / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)

    def path(self, device_path: str) -> str:
        return str(self.root / device_path.lstrip("/"))

    def write(self, device_path: str, value: str | int | float) -> str:
        p = Path(self.path(device_path))
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        tmp.write_text(f"{value}\n")
        os.replace(tmp, p)  # atomic: a concurrent reader never sees a half-written value
        return str(p)

    def command(self, name: str, script: str) -> Path:
        """A fake device command (a small sh script) on PATH."""
        p = self.bin / name
        p.write_text("#!/bin/sh\n" + script)
        p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        return p

    def zone(self, n: int, ztype: str, milli_c: int) -> str:
        self.write(f"/sys/class/thermal/thermal_zone{n}/type", ztype)
        return self.write(f"/sys/class/thermal/thermal_zone{n}/temp", milli_c)

    def cooling(self, n: int, ctype: str, cur: int, mx: int) -> None:
        self.write(f"/sys/class/thermal/cooling_device{n}/type", ctype)
        self.write(f"/sys/class/thermal/cooling_device{n}/cur_state", cur)
        self.write(f"/sys/class/thermal/cooling_device{n}/max_state", mx)

    def policy(self, n: int, governor: str, cur: int, mx: int, hw_max: int) -> None:
        base = f"/sys/devices/system/cpu/cpufreq/policy{n}"
        for f, v in {
            "scaling_governor": governor,
            "scaling_cur_freq": cur,
            "scaling_min_freq": 300000,
            "scaling_max_freq": mx,
            "cpuinfo_max_freq": hw_max,
        }.items():
            self.write(f"{base}/{f}", v)


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeDevice:
    d = FakeDevice(tmp_path / "device")
    monkeypatch.setenv("PATH", f"{d.bin}{os.pathsep}{os.environ.get('PATH', '')}")
    return d


@pytest.fixture
def local(tmp_path: Path) -> LocalTransport:
    return LocalTransport(str(tmp_path / "workdir"))
