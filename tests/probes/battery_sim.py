"""A simulated battery whose discharge current follows a process's CPU load.

It writes ``current_now`` (µA, NEGATIVE while discharging, as many phones do) and
``voltage_now`` (µV) atomically, so the real agent's file sampler reads a plausible fuel
gauge: idle -> IDLE_UA, one busy core -> IDLE_UA + PER_CORE_UA. Honest label: it proves
the harness's units, signs and windowing, not a phone's numbers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.rigs.devicetree import device_path

IDLE_UA = 300_000
PER_CORE_UA = 1_500_000
VOLTAGE_UV = 3_987_000
_TICK = os.sysconf("SC_CLK_TCK")


#: how the tests measure a phone with this battery: fuel-gauge sign, charging off, fast sampling, 1 s idle baseline
SIM_PHONE = {"discharge_sign": -1, "charging_disabled": True, "interval_s": 0.05, "idle_s": 1.0}


def battery_power(root: Path, **settings: object) -> dict[str, object]:
    """The probes' ``power`` block reading the simulated battery a rig keeps under ``root``, ``settings`` added."""
    return {"source": "battery", **settings,
            "current_path": device_path(root, "/sys/class/power_supply/battery/current_now"),
            "voltage_path": device_path(root, "/sys/class/power_supply/battery/voltage_now")}


def processes() -> Iterator[tuple[int, list[str]]]:
    """(pid, argv) of every process /proc shows now (one gone while read is passed over)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode("utf-8", "replace").split("\0")
        except OSError:
            continue
        yield int(entry.name), argv


def _cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _write(path: Path, value: int) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(f"{value}\n")
    os.replace(tmp, path)


class BatterySim:
    def __init__(self, battery_dir: Path, period_s: float = 0.1) -> None:
        self.dir = battery_dir
        self.dir.mkdir(parents=True, exist_ok=True)
        self.period_s = period_s
        self.pid: int | None = None
        self._needle = ""
        self._prefix = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        _write(self.dir / "current_now", -IDLE_UA)
        _write(self.dir / "voltage_now", VOLTAGE_UV)

    def start(self, pid: int) -> None:
        self.pid = pid
        self._thread.start()

    def start_matching(self, suffix: str, prefix: str = "") -> None:
        """Follow the first python process with an argument starting with ``prefix`` and ending
        with ``suffix`` (the job path handed to the agent through a transport, where the pid is
        not known up front; the prefix keeps other tests' agents out)."""
        self._needle = suffix
        self._prefix = prefix
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)

    def _find(self) -> int | None:
        """A python process with an argument ending in the needle (not the sh wrapping it)."""
        for pid, argv in processes():
            wanted = (a.startswith(self._prefix) and a.endswith(self._needle) for a in argv[1:])
            if "python" in Path(argv[0]).name and any(wanted):
                return pid
        return None

    def _loop(self) -> None:
        while self.pid is None and not self._stop.wait(0.01):
            self.pid = self._find()
        if self.pid is None:
            return
        last_t, last_cpu = time.monotonic(), _cpu_s(self.pid) or 0.0
        while not self._stop.wait(self.period_s):
            now, cpu = time.monotonic(), _cpu_s(self.pid)
            if cpu is None:
                return
            load = max(0.0, (cpu - last_cpu) / (now - last_t))
            last_t, last_cpu = now, cpu
            _write(self.dir / "current_now", -round(IDLE_UA + PER_CORE_UA * load))
