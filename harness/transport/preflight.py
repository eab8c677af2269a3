"""Up-front check that a device's runner interpreter can run the agent.

The session pushes agent.py, then calls ``check_interpreter``: it runs
``[interpreter, agent.py, "--probe"]`` (exit 0 = ready, 3 = numpy/onnxruntime missing)
and turns every failure into a HarnessError naming the device and the fix, before any
cell is attempted.
"""

from __future__ import annotations

from typing import Any

from harness.config.models import DeviceProfile, PythonRunner
from harness.errors import HarnessError
from harness.protocol import PROBE, probe_line
from harness.transport.base import Transport

PROBE_TIMEOUT_S = 120.0
MISSING = 3


def check_interpreter(
    transport: Transport, profile: DeviceProfile, agent_remote: str, interpreter: str | None = None
) -> dict[str, Any]:
    """Environment facts from the agent probe; HarnessError when the device cannot run it.

    ``interpreter`` overrides the profile's (the session resolves the local default)."""
    runner = profile.runner
    if not isinstance(runner, PythonRunner):
        return {}
    interp = interpreter or runner.interpreter or "python3"
    res = transport.exec([interp, agent_remote, PROBE], timeout=PROBE_TIMEOUT_S, env=profile.env or None)
    facts = probe_line(res.stdout) or {}
    where = f"device {profile.name} ({transport.kind})"
    if res.timed_out:
        raise HarnessError(f"{where}: `{interp} agent.py --probe` did not finish in {PROBE_TIMEOUT_S:.0f} s")
    if res.rc == 0 and facts:
        return facts
    if res.rc == MISSING:
        missing = [m for m in ("numpy", "onnxruntime") if m not in facts]
        why = "; ".join(str(facts[k]) for k in ("numpy_error", "onnxruntime_error") if k in facts)
        raise HarnessError(
            f"{where}: interpreter {interp} (Python {facts.get('python', '?')}) cannot import "
            f"{' and '.join(missing)}{f' ({why})' if why else ''}. Fix: on the device run "
            f"`{interp} -m pip install {' '.join(missing)}`, or set runner.interpreter in the profile to a "
            f"Python that has them (e.g. a venv's bin/python)"
        )
    if res.rc in (126, 127) or "not found" in res.stderr or "No such file" in res.stderr:
        raise HarnessError(
            f"{where}: runner interpreter {interp!r} is not runnable on the device (rc {res.rc}): "
            f"{res.stderr.strip()[-300:]}. Fix: install Python 3.8+ there or set runner.interpreter to its path"
        )
    raise HarnessError(
        f"{where}: `{interp} agent.py --probe` failed (rc {res.rc}): {res.stderr.strip()[-500:]}"
    )
