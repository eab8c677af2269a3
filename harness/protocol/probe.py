"""The ``--probe`` line: one JSON object a runner prints about its environment (exit 0 = usable)."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ProbeFacts(BaseModel):
    """Environment facts. The Python agent names python / numpy; a native runner names itself in
    ``runner`` instead. Extra facts are kept (they end up in the device fingerprint's facts)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    onnxruntime: str | None = None
    providers: list[str] = Field(default_factory=list)
    platform: str | None = None
    machine: str | None = None
    pid: int | None = Field(default=None, ge=0)
    python: str | None = None
    numpy: str | None = None
    runner: str | None = None  # "native <version>" for the native runner
    numpy_error: str | None = None
    onnxruntime_error: str | None = None
    #: runtime name -> version of each runtime this runner can run (the Python agent: the installed
    #: distributions; a native runner: the libraries it links)
    runtimes: dict[str, str] = Field(default_factory=dict)
    #: runtime name -> why this device cannot run it (a missing GPU, not macOS, an ONNX Runtime without the
    #: provider): the skip reason of such a cell
    runtimes_missing: dict[str, str] = Field(default_factory=dict)
    #: runtime name -> what its probe found (e.g. TensorRT's trtexec path and GPU name)
    runtime_details: dict[str, dict[str, Any]] = Field(default_factory=dict)


def probe_line(stdout: str) -> dict[str, Any] | None:
    """The probe's JSON object: the last line of stdout that is one (a runner's libraries may
    print before it); None when no line is."""
    for line in reversed(stdout.strip().splitlines()):
        try:
            got = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(got, dict):
            return got
    return None
