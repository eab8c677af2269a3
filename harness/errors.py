"""Errors the CLI turns into a clear message and exit code 2 (never a traceback)."""

from __future__ import annotations

import re


class HarnessError(Exception):
    """A usage or harness error: bad input, unreachable device, corrupt build."""


class ConfigError(HarnessError):
    """A YAML file failed validation; the message names file:line:col and field."""


class TransportError(HarnessError):
    """A transport-level failure (connection dropped, device offline).

    `retryable` tells the runner whether a retry with backoff may help; deterministic
    failures (a model that fails to load) are not TransportErrors.
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM during a run: the run is stored as ``interrupted``; the message says how
    much is stored and how to finish it."""

    def __init__(self, run_id: str, stored: int, planned: int) -> None:
        self.run_id, self.stored, self.planned = run_id, stored, planned
        super().__init__(f"{stored} of {planned} cells stored; resume with `harness run --resume {run_id}`")


class IntegrityError(HarnessError):
    """An artifact's sha256 does not match its manifest."""


_ORT_ERROR = re.compile(r"\[ONNXRuntimeError\] : \d+ : ([A-Z_]+) : (.*)")


def essential_line(text: str | None, limit: int = 300) -> str:
    """The one line of an error that says what went wrong (terminals show it; stores keep all).

    A Python traceback -> its last line; an ONNX Runtime status -> its code and the message
    after the node dump ("INVALID_GRAPH: Unrecognized attribute: axis for operator
    DequantizeLinear"); anything else -> its first line. Cut at ``limit`` characters.
    """
    from harness.terminal_text import terminal_safe  # the line goes to a terminal

    lines = [ln.strip() for ln in terminal_safe(text or "").strip().splitlines() if ln.strip()]
    if not lines:
        return ""
    traceback = any("Traceback (most recent call last)" in ln for ln in lines)
    line = lines[-1] if traceback else lines[0]
    m = _ORT_ERROR.search(line)
    if m:
        code, msg = m.groups()
        for marker in (", Error ", " failed:"):
            if marker in msg:
                msg = msg.rsplit(marker, 1)[1]
        line = f"{code}: {msg.strip()}"
    return line if len(line) <= limit else line[: limit - 1] + "…"
