"""The transport interface every device connection implements (local, ssh, adb).

Contract:
- ``push(local, remote)`` copies a file to the device through a content-addressed
  cache (``<workdir>/cache/<sha256>``): an unchanged file is never sent twice. The
  cache entry is verified after sending, and re-verified (sha256 on the device) before
  every reuse: a corrupted entry is sent again; ``remote`` then points at the cached copy.
- ``pull(remote, local, max_bytes=N)`` copies a device file to the host: only a regular file
  (never a link, a device such as ``/dev/zero``, a FIFO), and never more than ``max_bytes``
  (checked before the copy and enforced during it); ``RemoteFileMissing`` when it is absent,
  ``PullRefused`` otherwise.
- ``exec(argv, timeout)`` runs an argv list (quoted once, here, by the transport;
  callers never build shell strings). On timeout the whole process group is killed
  *on the device* and ``ExecResult.timed_out`` is set. Its output is read as it comes, capped
  in memory, and with ``log=OutputFiles(...)`` streamed to host files with the same cap.
- ``info()`` returns facts used for the device fingerprint.
- ``bytes_pushed`` / ``files_cached`` count what push actually sent, for run summaries.
"""

from __future__ import annotations

import abc
import hashlib
import logging
import posixpath
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.errors import HarnessError
from harness.transport.capture import OutputFiles

HASH_CHUNK = 1 << 20
log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(HASH_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


class RemoteFileMissing(HarnessError):
    """The device file to pull does not exist."""


class PullRefused(HarnessError):
    """The device file to pull is not a regular file, or is larger than the caller allows."""


def check_pullable(remote: str, is_regular: bool, size: int, max_bytes: int | None) -> None:
    """What every transport checks before copying a device file to the host."""
    if not is_regular:
        raise PullRefused(f"{remote} is not a regular file (a link, a device or a pipe): not pulled")
    if max_bytes is not None and size > max_bytes:
        raise PullRefused(f"{remote} is {size} bytes, over the {max_bytes}-byte limit: not pulled")


class BoundedSink:
    """Writes what a pull receives, refusing once more than ``max_bytes`` arrived (a file that
    grows during the copy, or a device that streams without end)."""

    def __init__(self, f: IO[bytes], remote: str, max_bytes: int | None) -> None:
        self.f, self.remote, self.max_bytes, self.n = f, remote, max_bytes, 0

    def write(self, chunk: bytes) -> None:
        self.n += len(chunk)
        if self.max_bytes is not None and self.n > self.max_bytes:
            raise PullRefused(f"{self.remote} grew past the {self.max_bytes}-byte limit while pulled: not pulled")
        self.f.write(chunk)


@dataclass(frozen=True)
class ExecResult:
    rc: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False
    files: OutputFiles | None = None  # where the capped stdout and stderr were kept on the host, if asked


@dataclass(frozen=True)
class PushResult:
    remote: str
    sha256: str
    size: int
    bytes_sent: int  # 0 when the content-hash cache already held the file


class Prestarted(abc.ABC):
    """A runner started on the device before its input exists (``RUNNER --job-from-stdin``): it
    does its slow start-up (an interpreter and its imports), prints ``ready`` and waits on stdin.
    ``run`` gives it that input and waits like ``Transport.exec`` (the timeout counts from
    there); ``discard`` ends one never used. Either way it is used at most once.

    A handoff job: ``run(..., on_warm_up=f)`` keeps stdin open; when the runner prints
    ``warm-up``, ``f()`` runs (it starts the next cell's runner and waits for it), then the
    runner is told ``go``."""

    @abc.abstractmethod
    def run(self, stdin: str, timeout: float | None = None, *,
            on_warm_up: Callable[[], None] | None = None, log: OutputFiles | None = None) -> ExecResult: ...

    @abc.abstractmethod
    def wait_ready(self, timeout: float) -> bool:
        """True once the runner printed ``ready``; False if it ended first or ``timeout`` passed."""

    @abc.abstractmethod
    def discard(self) -> None: ...


class Transport(abc.ABC):
    """Base class. Subclasses implement the primitives; caching lives here once."""

    kind: str = "abstract"

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir.rstrip("/") or "/"
        self.bytes_pushed = 0
        self.files_pushed = 0
        self.files_cached = 0
        self.cache_repairs = 0  # cached entries that failed re-verification and were sent again
        self._counter_lock = threading.Lock()
        self._in_cache: set[str] = set()  # cache paths this connection sent or found: asked about once

    # ---- primitives every transport implements -------------------------------------
    @abc.abstractmethod
    def exec(
        self,
        argv: Sequence[str],
        timeout: float | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        log: OutputFiles | None = None,
    ) -> ExecResult:
        """Run argv on the device; kill its process group there on timeout. ``log``: also keep its
        stdout and stderr in these host files, capped (harness.transport.capture)."""

    #: whether ``prestart`` starts anything here (else the caller uses ``exec``)
    can_prestart: bool = False

    def prestart(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Prestarted | None:
        """Start argv now, its stdin held open for ``Prestarted.run``; None where this transport
        cannot (the caller then uses ``exec``)."""
        return None

    @abc.abstractmethod
    def _send(self, local: Path, remote: str) -> None:
        """Copy a local file to an exact remote path (parent dirs exist)."""

    @abc.abstractmethod
    def pull(self, remote: str, local: Path, *, max_bytes: int | None = None) -> None:
        """Copy a remote regular file of at most ``max_bytes`` to the host (see the module doc)."""

    @abc.abstractmethod
    def _remote_sha256(self, remote: str) -> str | None:
        """sha256 of a remote file, or None when it does not exist."""

    @abc.abstractmethod
    def makedirs(self, remote: str) -> None: ...

    @abc.abstractmethod
    def read_text(self, remote: str) -> str | None:
        """Contents of a small remote text file, or None when absent."""

    @abc.abstractmethod
    def write_text(self, remote: str, text: str) -> None: ...

    @abc.abstractmethod
    def info(self) -> dict[str, Any]:
        """Fingerprint facts: model, soc, os, abi, cores, ram_mb, ..."""

    def free_bytes(self, remote: str) -> int | None:
        """Free space at a remote path, or None when unknown."""
        return None

    def running_pidfiles(self) -> frozenset[str]:
        """Pidfiles (``<workdir>/run/*.pid``) of the commands this transport is running now."""
        return frozenset()

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""

    def abort(self) -> None:  # noqa: B027 - optional hook
        """Kill, on the device, every command this transport started that still runs.

        Called from another thread (the runner's main thread on Ctrl-C), so it must not
        wait for the running exec() to return.
        """

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- content-addressed push, shared by all transports ---------------------------
    @property
    def lock_dir(self) -> str:
        """Where the device lock lives on the device (``<workdir>/lock``; a local transport: one per host)."""
        return posixpath.join(self.workdir, "lock")

    @property
    def pidfile_dir(self) -> str:
        """Where each running command's pidfile lives (``<workdir>/run``; a local transport: one per
        host, so the orphan sweep of any local profile sees every local profile's dead runs)."""
        return posixpath.join(self.workdir, "run")

    @property
    def cache_dir(self) -> str:
        return posixpath.join(self.workdir, "cache")

    def push(self, local: Path, remote: str | None = None, *, sha256: str | None = None) -> PushResult:
        """Push through the device cache; returns the cached remote path.

        ``remote`` is accepted for interface symmetry: when given and different from the
        cache path, the cached file is also copied there.
        """
        local = Path(local)
        digest = sha256 or sha256_file(local)
        size = local.stat().st_size
        name = digest + (local.suffix if local.suffix else "")
        cached = posixpath.join(self.cache_dir, name)
        marker = cached + ".ok"
        sent = 0
        # verified once per connection (pushed and hashed, or its cached copy hashed again on the
        # device): every cell pushes the same inputs, and a corrupted entry is never reused
        if cached not in self._in_cache and not self._cache_entry_ok(marker, cached, digest):
            self.makedirs(self.cache_dir)
            free = self.free_bytes(self.cache_dir)
            if free is not None and free < size * 1.1:
                from harness.errors import TransportError

                raise TransportError(
                    f"not enough free space on device at {self.cache_dir}: "
                    f"{free} bytes free, {size} needed for {local.name}",
                    retryable=False,
                )
            self._send(local, cached)
            got = self._remote_sha256(cached)
            if got != digest:
                from harness.errors import TransportError

                raise TransportError(
                    f"push of {local} to {cached} failed verification: sha256 {got} != {digest}"
                )
            self.write_text(marker, digest)
            sent = size
        self._in_cache.add(cached)
        with self._counter_lock:
            if sent:
                self.bytes_pushed += sent
                self.files_pushed += 1
            else:
                self.files_cached += 1
        target = cached
        if remote and remote != cached:
            self.makedirs(posixpath.dirname(remote))
            self._send(local, remote) if sent else self._copy_remote(cached, remote)
            target = remote
        return PushResult(remote=target, sha256=digest, size=size, bytes_sent=sent)

    def _cache_entry_ok(self, marker: str, cached: str, digest: str) -> bool:
        """The marker says the entry was verified once; the file is hashed again on the device
        anyway (a corrupted or truncated entry must never be measured)."""
        if self.read_text(marker) != digest:
            return False
        got = self._remote_sha256(cached)
        if got != digest:
            log.warning("device cache entry %s failed re-verification (sha256 %s); sending it again", cached, got)
            self.cache_repairs += 1
            return False
        return True

    def _copy_remote(self, src: str, dst: str) -> None:
        res = self.exec(["cp", src, dst], timeout=120)
        if res.rc != 0:
            from harness.errors import TransportError

            raise TransportError(f"cp {src} {dst} failed on device: {res.stderr.strip()}")
