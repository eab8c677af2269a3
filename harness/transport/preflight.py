"""Up-front check that a device's runner interpreter can run the agent.

The session pushes agent.py, then calls ``check_interpreter``: it runs the agent (``agent_argv``)
with ``--probe`` (exit 0 = ready, 3 = numpy/onnxruntime missing)
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
#: how the agent starts: imported as a module from its pushed file (its path is the next argument), so
#: Python caches its bytecode in __pycache__ beside it on the first start (the probe) and later starts
#: load that instead of compiling ~2300 lines: compiling raised a cell's peak RSS by ~8 MB that an app
#: running the same session does not have (a cached start: ~1.5 MB). Python 3.8+; no single quotes
#: (transports quote each argument for the remote shell).
AGENT_BOOT = ("import importlib.util as u,sys;sys.dont_write_bytecode=False;"
              "s=u.spec_from_file_location(\"harness_agent\",sys.argv[1]);m=u.module_from_spec(s);"
              "sys.modules[\"harness_agent\"]=m;s.loader.exec_module(m);m.run_as_program(sys.argv[2:])")


def agent_argv(interpreter: str, agent_remote: str) -> list[str]:
    """The argv prefix that runs the pushed agent (a job path or --probe follows)."""
    return [interpreter, "-c", AGENT_BOOT, agent_remote]


def check_interpreter(
    transport: Transport, profile: DeviceProfile, agent_remote: str, interpreter: str | None = None
) -> dict[str, Any]:
    """Environment facts from the agent probe; HarnessError when the device cannot run it.

    ``interpreter`` overrides the profile's (the session resolves the local default)."""
    runner = profile.runner
    if not isinstance(runner, PythonRunner):
        return {}
    interp = interpreter or runner.interpreter or "python3"
    res = transport.exec([*agent_argv(interp, agent_remote), PROBE], timeout=PROBE_TIMEOUT_S, env=profile.env or None)
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
