"""Finding the real binaries the rigs run: skip locally when absent, fail in CI."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_binary(name: str, *candidates: str, package: str) -> str:
    """Path of a binary; pytest.skip (or fail in CI) naming the Debian package otherwise."""
    for c in (*candidates, shutil.which(name)):
        if c and Path(c).is_file() and os.access(c, os.X_OK):
            return str(c)
    msg = f"{name} not found: install Debian package {package} (scripts/install-test-deps.sh)"
    if in_ci():
        pytest.fail(msg)
    pytest.skip(msg)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 10.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s") from None
            time.sleep(0.05)


def die_with_parent() -> None:
    """preexec_fn: the rig daemon gets SIGTERM when the test process dies (even by SIGKILL)."""
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass
