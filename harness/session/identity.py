"""A cell's configuration identity: the settings that must match for two cells to be compared.

Stored as ``result_json["identity"]`` on every cell record (failed and skipped ones too):

    {"session": {intra_op_num_threads, inter_op_num_threads, allow_spinning,
                 graph_optimization_level},
     "provider": str, "provider_options": {...},
     "runner": "python-agent" | "native:<target>"}

plus, for a backend of a runtime other than ONNX Runtime, ``"runtime"``, ``"runtime_version"``
(the runner's ``--probe`` facts) and ``"runtime_options"`` (ONNX Runtime cells keep the keys they
always had, so stored results keep their identity).

A 1-thread and a 2-thread run of one build are different configurations, not a regression.
Readers fall back to ``result_json["session"]`` (the settings the agent applied) for stores
written before this existed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from typing import Any

from harness.config.models import Backend, DeviceProfile, NativeRunner
from harness.session.jobs import session_settings

PYTHON_AGENT = "python-agent"
SESSION_KEYS = ("intra_op_num_threads", "inter_op_num_threads", "allow_spinning", "graph_optimization_level")


def runner_identity(profile: DeviceProfile, runner_facts: Mapping[str, Any] | None = None) -> str:
    """``python-agent``, or ``native:<target>``: the target the native runner reports in its
    ``--probe`` facts (``target``), else the profile's build target or the file name it names."""
    runner = profile.runner
    if not isinstance(runner, NativeRunner):
        return PYTHON_AGENT
    target = (runner_facts or {}).get("target") or runner.build or posixpath.basename(runner.push or runner.binary or "")
    return f"native:{target}"


def cell_identity(profile: DeviceProfile, backend: Backend, runner_facts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    settings = session_settings(profile.threads)
    out: dict[str, Any] = {
        "session": {k: settings.get(k) for k in SESSION_KEYS},
        "provider": backend.provider,
        "provider_options": dict(backend.options) if backend.provider else {},
        "runner": runner_identity(profile, runner_facts),
    }
    if backend.provider is None:
        versions = (runner_facts or {}).get("runtimes")
        out["runtime"] = backend.runtime
        out["runtime_version"] = versions.get(backend.runtime) if isinstance(versions, Mapping) else None
        out["runtime_options"] = dict(backend.options)
    return out
