"""House rules of this package, enforced: user- and device-supplied text is never parsed as rich
markup (no ``markup=True`` anywhere), and every transport's pull takes a byte limit."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from harness.transport.adb import AdbTransport
from harness.transport.local import LocalTransport
from harness.transport.ssh import SshTransport

HARNESS = Path(__file__).resolve().parents[2] / "harness"


def test_nothing_prints_with_markup_forced_on() -> None:
    offenders = [f"{p.relative_to(HARNESS)}:{i}" for p in HARNESS.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if re.search(r"markup\s*=\s*True", line)]
    assert not offenders, f"print user text with markup off or escaped: {offenders}"


def test_every_transport_pull_takes_a_byte_limit() -> None:
    for cls in (LocalTransport, SshTransport, AdbTransport):
        assert "max_bytes" in inspect.signature(cls.pull).parameters, cls.__name__
