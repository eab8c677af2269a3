"""The ADB rig: the Python adbd behind a FaultProxy, and the REAL adb server on a private port."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from tests.rigs.adbd import Adbd
from tests.rigs.binaries import die_with_parent, free_port, require_binary, wait_port
from tests.rigs.devicetree import build_device_tree
from tests.rigs.faultproxy import FaultProxy


class AdbRig:
    def __init__(self, base: Path, cpuinfo: Path | None = None) -> None:
        self.base = Path(base)
        self.cpuinfo = cpuinfo  # an ARM phone's /proc/cpuinfo for every shell (see Adbd.cpuinfo)
        self.adb_bin = require_binary(
            "adb", os.environ.get("ADBUTILS_ADB_PATH", ""), "/usr/bin/adb", package="adb"
        )
        self.root = build_device_tree(self.base / "device")
        self.workdir = str(self.root / "data/local/tmp/harness")
        self.adbd: Adbd | None = None
        self.proxy: FaultProxy | None = None
        self.server_proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AdbRig:
        self.adbd = Adbd(self.root)
        self.adbd.cpuinfo = self.cpuinfo
        self.proxy = FaultProxy(self.adbd.port)
        while 5555 <= self.proxy.port <= 5585:  # the server would probe it as an emulator
            self.proxy.close()
            self.proxy = FaultProxy(self.adbd.port)
        self.serial = f"127.0.0.1:{self.proxy.port}"
        self.server_port = free_port()
        self.server = f"127.0.0.1:{self.server_port}"
        # a foreground server, our child: it dies with the test process instead of lingering
        self.server_log = open(self.base / "adb-server.log", "wb")  # noqa: SIM115 - lives with the rig
        self.server_proc = subprocess.Popen(
            [self.adb_bin, "-P", str(self.server_port), "nodaemon", "server"],
            stdin=subprocess.DEVNULL, stdout=self.server_log, stderr=self.server_log, preexec_fn=die_with_parent,
        )
        wait_port(self.server_port, timeout=30)
        self.connect()
        return self

    def adb(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """The plain `adb` CLI against the rig's server."""
        return subprocess.run(
            [self.adb_bin, "-P", str(self.server_port), *args],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
        )

    def state(self) -> str:
        for line in self.adb("devices").stdout.splitlines()[1:]:
            parts = line.split()
            if parts and parts[0] == self.serial:
                return parts[1]
        return "absent"

    def connect(self, timeout: float = 15) -> None:
        self.adb("connect", self.serial)
        deadline = time.monotonic() + timeout
        while self.state() != "device":
            if time.monotonic() > deadline:
                raise TimeoutError(f"adb rig {self.serial} not online: {self.adb('devices').stdout!r}")
            time.sleep(0.1)

    def heal(self) -> None:
        """Undo fault injection and make sure the device is online again."""
        assert self.adbd and self.proxy
        self.adbd.silent = False
        self.adbd.slow_s = 0.0
        self.proxy.heal()
        if self.state() != "device":
            self.adb("disconnect", self.serial)
            self.connect()

    def stop(self) -> None:
        if self.server_proc is not None:
            self.adb("kill-server")
            if self.server_proc.poll() is None:
                self.server_proc.terminate()
            self.server_proc.wait(10)
            self.server_log.close()
        if self.proxy:
            self.proxy.close()
        if self.adbd:
            self.adbd.stop()
