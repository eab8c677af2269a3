"""Transports: one interface (push / pull / exec / info) to reach a device."""

from harness.transport.base import ExecResult, PushResult, Transport

__all__ = ["ExecResult", "PushResult", "Transport"]
