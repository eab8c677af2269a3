"""What ssh and adb share: exec with on-device process groups, and the shell-backed primitives.

A subclass provides one raw primitive, ``_run(line, timeout)``, that runs a shell command
line on the device and returns ``(rc, stdout, stderr, timed_out)`` — raising
``TransportError(retryable=True)`` when the link drops — plus the file primitives.

``exec`` wraps the argv (remote_shell.wrapped_exec) so the work runs in its own process
group with a pidfile; on timeout or Ctrl-C the group is SIGKILLed on the device. When the
link drops mid-command the pidfile is remembered and the group is killed as soon as the
transport reaches the device again, so a retried cell never races its own orphan.
"""

from __future__ import annotations

import abc
import posixpath
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from harness.errors import TransportError
from harness.transport import remote_shell as rs
from harness.transport.base import ExecResult, Transport
from harness.transport.capture import OutputFiles

KILL_TIMEOUT_S = 30.0
SMALL_TIMEOUT_S = 120.0


class RemoteTransport(Transport):
    """Base for transports that reach the device through a remote shell."""

    def __init__(self, workdir: str, device: str) -> None:
        super().__init__(workdir)
        self.device = device
        self._orphans: set[str] = set()
        self._inflight: set[str] = set()
        self._orphans_lock = threading.Lock()

    # ---- the one raw primitive ------------------------------------------------------
    @abc.abstractmethod
    def _run(self, line: str, timeout: float | None, log: OutputFiles | None = None) -> tuple[int, str, str, bool]:
        """Run a shell command line; (rc, stdout, stderr, timed_out), its output kept in ``log`` too."""

    # ---- exec with a process group on the device ------------------------------------
    def exec(
        self,
        argv: Sequence[str],
        timeout: float | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        log: OutputFiles | None = None,
    ) -> ExecResult:
        self._reap_orphans()
        pidfile = posixpath.join(self.pidfile_dir, f"{uuid.uuid4().hex}.pid")
        line = rs.wrapped_exec(argv, pidfile, cwd, env)
        start = time.monotonic()
        with self._orphans_lock:
            self._inflight.add(pidfile)
        try:
            rc, out, err, timed_out = self._run(line, timeout, log)
        except TransportError:
            with self._orphans_lock:
                self._orphans.add(pidfile)
            raise
        except BaseException:  # Ctrl-C: the work must not outlive us on the device
            self._kill_group(pidfile)
            raise
        finally:
            with self._orphans_lock:
                self._inflight.discard(pidfile)
        if timed_out:
            self._kill_group(pidfile)
            rc = -9
        return ExecResult(rc=rc, stdout=out, stderr=err, duration_s=time.monotonic() - start, timed_out=timed_out,
                          files=log)

    def abort(self) -> None:
        """Kill every command still running through this transport, from any thread."""
        with self._orphans_lock:
            running = list(self._inflight)
        for pidfile in running:
            self._kill_group(pidfile)

    def _kill_group(self, pidfile: str) -> bool:
        """SIGKILL the group on the device; False (and remembered) when the device is unreachable."""
        try:
            self._run(rs.kill_group_line(pidfile), KILL_TIMEOUT_S)
            return True
        except TransportError:
            with self._orphans_lock:
                self._orphans.add(pidfile)
            return False

    def _reap_orphans(self) -> None:
        with self._orphans_lock:
            pending, self._orphans = list(self._orphans), set()
        for i, pidfile in enumerate(pending):
            if not self._kill_group(pidfile):  # unreachable: keep the rest for next time
                with self._orphans_lock:
                    self._orphans.update(pending[i + 1 :])
                return

    def close(self) -> None:
        """Last chance to kill commands cut off by a dropped link: the next session gets a new transport."""
        try:
            self._reap_orphans()
        except Exception:  # noqa: BLE001 - closing must not fail; the orphans stay listed
            pass

    def running_pidfiles(self) -> frozenset[str]:
        with self._orphans_lock:
            return frozenset(self._inflight)

    @property
    def orphans(self) -> frozenset[str]:
        """Pidfiles of commands cut off by a dropped link, not yet killed on the device."""
        with self._orphans_lock:
            return frozenset(self._orphans)

    # ---- small helpers over the raw primitive ---------------------------------------
    def _script(self, script: str, *args: str, timeout: float = SMALL_TIMEOUT_S) -> tuple[int, str, str]:
        rc, out, err, timed_out = self._run(rs.command_line(rs.script_argv(script, *args)), timeout)
        if timed_out:
            raise TransportError(f"device {self.device}: a {timeout:.0f} s housekeeping command timed out")
        return rc, out, err

    def _remote_sha256(self, remote: str) -> str | None:
        _, out, _ = self._script(rs.SHA256, remote)
        return rs.parse_sha256(out)

    def makedirs(self, remote: str) -> None:
        rc, _, err = self._script('mkdir -p "$1"', remote)
        if rc != 0:
            raise TransportError(f"device {self.device}: mkdir -p {remote} failed: {err.strip()}", retryable=False)

    def free_bytes(self, remote: str) -> int | None:
        rc, out, _ = self._script(rs.DF_KB, remote)
        kb = rs.parse_df_kb(out) if rc == 0 else None
        return kb * 1024 if kb is not None else None

    def info(self) -> dict[str, Any]:
        _, out, _ = self._script(rs.FACTS)
        facts = rs.parse_facts(out, self.kind)
        facts["device"] = self.device
        return facts
