"""Errors the CLI turns into a clear message and exit code 2 (never a traceback)."""

from __future__ import annotations


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


class IntegrityError(HarnessError):
    """An artifact's sha256 does not match its manifest."""
