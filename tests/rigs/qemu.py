"""qemu user-mode: run aarch64 programs (the phone bundle) on this x86_64 machine, as a phone would.

Two parts, both real:
- binfmt_misc: the kernel hands every aarch64 ELF to ``qemu-aarch64-static`` (Debian
  qemu-user-static), so the bundle's launcher execs its loader exactly as on a device. The rig
  registers the handler only when the machine has none, and removes only what it registered.
- an ARM ``/proc/cpuinfo``: ONNX Runtime's cpuinfo crashes parsing the host's x86 one under
  qemu 7.2 (*measured*); commands run in a private mount namespace with an ARM cpuinfo bound over
  it (``in_arm_namespace``; the adbd rig does the same for every shell with ``Adbd.cpuinfo``).
Honest label: this proves the protocol and the bundle, not a phone's timings.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.rigs.binaries import in_ci, require_binary

BINFMT = Path("/proc/sys/fs/binfmt_misc")
OURS = "harness-test-aarch64"
# ELF64 little-endian, e_machine EM_AARCH64 (0xb7), ET_EXEC or ET_DYN: Debian's qemu-aarch64 entry.
MAGIC = r"\x7f\x45\x4c\x46\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
MASK = r"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

# What a phone with two Cortex-A76 cores shows.
ARM_CPUINFO = "".join(
    f"processor\t: {i}\nBogoMIPS\t: 38.40\n"
    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop "
    "asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x4\nCPU part\t: 0xd0b\n"
    "CPU revision\t: 1\n\n"
    for i in range(2)
)


def _unavailable(msg: str) -> None:
    if in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def _handler_for_aarch64() -> str | None:
    """Name of an enabled binfmt entry that already runs aarch64 ELF files, if any."""
    for entry in BINFMT.glob("*"):
        if entry.name in ("register", "status"):
            continue
        try:
            text = entry.read_text()
        except OSError:
            continue
        if text.startswith("enabled") and "b700" in text.replace(" ", "").split("magic", 1)[-1][:60]:
            return entry.name
    return None


@contextmanager
def aarch64_binfmt() -> Iterator[str]:
    """Make aarch64 ELF files executable here through qemu-aarch64-static; yields the entry name."""
    qemu = require_binary("qemu-aarch64-static", "/usr/bin/qemu-aarch64-static", package="qemu-user-static")
    require_binary("unshare", "/usr/bin/unshare", package="util-linux")
    if os.geteuid() != 0:
        _unavailable("running the aarch64 bundle needs root (binfmt_misc and a private mount of /proc/cpuinfo)")
    if not (BINFMT / "register").exists():
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], capture_output=True)
    if not (BINFMT / "register").exists():
        _unavailable("binfmt_misc is not available here: cannot run aarch64 programs through qemu")
    existing = _handler_for_aarch64()
    if existing:
        yield existing
        return
    (BINFMT / "register").write_text(f":{OURS}:M::{MAGIC}:{MASK}:{qemu}:F")
    try:
        yield OURS
    finally:
        try:
            (BINFMT / OURS).write_text("-1")
        except OSError:
            pass


def write_arm_cpuinfo(path: Path) -> Path:
    path.write_text(ARM_CPUINFO)
    return path


def in_arm_namespace(argv: list[str], cpuinfo: Path) -> list[str]:
    """argv run in a private mount namespace whose /proc/cpuinfo is the ARM one."""
    return ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /proc/cpuinfo && exec "$@"', str(cpuinfo), *argv]
