"""Build a runner's job.json for a cell (the host side of protocol 1, defined in harness/protocol)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.models import Backend, Measure, Threads
from harness.protocol import PROTOCOL_VERSION, Job

AGENT_PROTOCOL = PROTOCOL_VERSION

# The fp32 reference only needs outputs: one iteration, no warm-up.
REFERENCE_MEASURE: dict[str, Any] = {
    "warmup": 0,
    "warmup_s": 0.0,
    "min_iterations": 1,
    "min_seconds": 0.0,
    "max_seconds": 0.001,
    "max_iterations": 1,
}


def agent_source() -> Path:
    return Path(__file__).resolve().parents[1] / "agent" / "agent.py"


def session_settings(threads: Threads) -> dict[str, Any]:
    return {
        "intra_op_num_threads": threads.intra_op,
        "inter_op_num_threads": threads.inter_op,
        "graph_optimization_level": "all",
        "allow_spinning": threads.allow_spinning,
    }


def build_job(
    *,
    kind: str,
    models: dict[str, str],
    inputs: str | None,
    params: dict[str, Any],
    backend: Backend,
    threads: Threads,
    measure: Measure | dict[str, Any],
    out_dir: str,
    probes: list[dict[str, Any]] | None = None,
    snapshots: dict[str, str] | None = None,
    idle_s: float = 0.0,
    save_outputs: bool = True,
    handoff_s: float = 0.0,
    test_slowdown: float = 0.0,
    runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The job as JSON-ready data, validated against the protocol's :class:`Job` (a job the host
    cannot describe in protocol 1 is a harness bug, raised here rather than on the device).

    ``runtime`` (a runtime other than ONNX Runtime): {"settings", "io"} from the build's conversion;
    the name and options are the backend's."""
    job = {
        "protocol": AGENT_PROTOCOL,
        "kind": kind,
        "models": models,
        "inputs": inputs,
        "params": params,
        "provider": backend.provider or "CPUExecutionProvider",
        "provider_options": dict(backend.options) if backend.provider else {},
        "session": session_settings(threads),
        "measure": measure if isinstance(measure, dict) else measure.model_dump(),
        "probes": probes or [],
        "snapshots": snapshots or {},
        "idle_s": idle_s,
        "save_outputs": save_outputs,
        "out_dir": out_dir,
        "handoff_s": handoff_s,
        "test_slowdown": test_slowdown,
    }
    if backend.provider is None:  # a runtime other than ONNX Runtime
        job["runtime"] = {"name": backend.runtime, "options": dict(backend.options), **(runtime or {})}
    return Job.model_validate(job).model_dump(mode="json")
