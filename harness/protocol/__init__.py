"""Runner protocol 1: the one definition of job.json, result.json and the ``--probe`` line.

Every runner follows it — the Python agent (``harness/agent/agent.py``, which cannot import this
package because it is pushed alone) and the native runner (``runner/``). The host builds jobs
through :class:`Job` and validates what a device sends back through :class:`Result` before
anything is stored: a device's result is untrusted input. The JSON Schema files beside this
module (``schemas/``) are generated from these models for runner authors outside Python; a test
keeps them current (``python -m harness.protocol`` rewrites them).

A runner is started as ``RUNNER JOB_JSON`` (result.json in the job's out_dir), ``RUNNER --probe``,
or ``RUNNER --job-from-stdin``: its start-up done first, then the job's path as one line on stdin
(stdin closed before a line: exit 0, nothing run). The host uses the last to start a runner before
its cell (prestart); such a runner prints the line ``ready`` once started. With a job's ``handoff_s``
the host starts the next cell's runner while this one warms up, and answers ``warm-up`` with ``go``
(see :class:`Job`). Both runners take all of it; tests/runner checks them alike.
"""

from harness.protocol.job import (
    GO,
    JOB_FROM_STDIN,
    PROBE,
    PROTOCOL_VERSION,
    READY,
    WARM_UP,
    CommandProbe,
    FileProbe,
    Job,
    JobIo,
    JobMeasure,
    JobRuntime,
    JobSession,
    JobTensor,
    ProbeSpec,
    StreamProbe,
)
from harness.protocol.probe import ProbeFacts, probe_line
from harness.protocol.result import (
    LoadReadings,
    LoadWindow,
    MemoryInfo,
    Placement,
    ProbeRecord,
    ProtocolError,
    Providers,
    Result,
    Series,
    parse_result,
)
from harness.protocol.schemas import json_schemas

__all__ = [
    "GO",
    "JOB_FROM_STDIN",
    "PROBE",
    "PROTOCOL_VERSION",
    "READY",
    "WARM_UP",
    "CommandProbe",
    "FileProbe",
    "Job",
    "JobIo",
    "JobMeasure",
    "JobRuntime",
    "JobSession",
    "JobTensor",
    "LoadReadings",
    "LoadWindow",
    "MemoryInfo",
    "Placement",
    "ProbeFacts",
    "ProbeRecord",
    "ProbeSpec",
    "ProtocolError",
    "Providers",
    "Result",
    "Series",
    "StreamProbe",
    "StopReason",
    "json_schemas",
    "parse_result",
    "probe_line",
]

from harness.protocol.result import StopReason  # noqa: E402 - re-exported above
