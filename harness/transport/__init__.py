"""Transports: one interface (push / pull / exec / info) to reach a device."""

import warnings

from harness.transport.base import ExecResult, PushResult, Transport

# asyncssh (ssh.py) still names DSA, which cryptography deprecates, in its type hints: 10 warnings on every
# command that loads it. Its business, not the user's: silenced for asyncssh's own modules, before it loads.
warnings.filterwarnings("ignore", message=".*deprecated.*", module=r"asyncssh(\.|$)")

__all__ = ["ExecResult", "PushResult", "Transport"]
