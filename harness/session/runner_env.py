"""Put a device's runner in place and ask it what it has (shared by sessions and farm preflight).

A runner is either the Python agent (``python3 agent.py``) or a native binary speaking the
same job/result protocol; both answer ``--probe`` with one JSON line of environment facts.
"""

from __future__ import annotations

import json
import posixpath
import sys
from pathlib import Path
from typing import Any

from harness.config.models import DeviceProfile, LocalTransportConfig, NativeRunner
from harness.errors import HarnessError, TransportError
from harness.session.jobs import agent_source
from harness.transport.base import Transport
from harness.transport.preflight import check_interpreter

PROBE_TIMEOUT_S = 120.0


def runner_program(profile: DeviceProfile) -> str:
    """The interpreter (python runners) or binary (native runners) the profile names."""
    runner = profile.runner
    if isinstance(runner, NativeRunner):
        return runner.binary
    if runner.interpreter:
        return runner.interpreter
    return sys.executable if isinstance(profile.transport, LocalTransportConfig) else "python3"


def install_runner(t: Transport, profile: DeviceProfile) -> list[str]:
    """Push what the runner needs; return the argv prefix that runs a job."""
    runner = profile.runner
    if isinstance(runner, NativeRunner):
        if runner.push:
            cached = t.push(Path(runner.push)).remote
            t.makedirs(posixpath.dirname(runner.binary))
            res = t.exec(["sh", "-c", 'cp "$1" "$2" && chmod 755 "$2"', "sh", cached, runner.binary], timeout=120)
            if res.rc != 0:
                raise HarnessError(f"device {profile.name}: cannot install {runner.push} as {runner.binary}: "
                                   f"{res.stderr.strip()[-300:]}")
        return [runner.binary]
    return [runner_program(profile), t.push(agent_source()).remote]


def probe_runner(t: Transport, profile: DeviceProfile, argv: list[str]) -> dict[str, Any]:
    """Environment facts (python, numpy, onnxruntime, providers); HarnessError naming the fix."""
    if not isinstance(profile.runner, NativeRunner):
        return check_interpreter(t, profile, argv[1], interpreter=argv[0])
    res = t.exec([*argv, "--probe"], timeout=PROBE_TIMEOUT_S)
    if res.timed_out:
        raise TransportError(f"device {profile.name}: the runner's environment probe timed out")
    try:
        if res.rc == 0:
            return dict(json.loads(res.stdout.strip().splitlines()[-1]))
    except (json.JSONDecodeError, IndexError, TypeError, ValueError):
        pass
    raise HarnessError(
        f"device {profile.name}: native runner {argv[0]!r} failed its --probe (exit {res.rc}): "
        f"{(res.stdout + res.stderr).strip()[-800:]}\nfix: install a runner that speaks the harness job protocol "
        f"there (runner.push can install one) or fix runner.binary in the device profile"
    )
