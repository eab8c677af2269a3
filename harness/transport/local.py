"""The local transport: the device is this machine; "remote" paths are local paths."""

from __future__ import annotations

import errno
import os
import platform
import shutil
import signal
import stat
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from harness.protocol import GO, READY, WARM_UP
from harness.transport.base import (
    HASH_CHUNK,
    BoundedSink,
    ExecResult,
    Prestarted,
    PullRefused,
    RemoteFileMissing,
    Transport,
    check_pullable,
    sha256_file,
)
from harness.transport.capture import CHUNK, CappedStream, OutputFiles, streams
from harness.transport.physical import default_local_workdir, local_lock_dir


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class LocalTransport(Transport):
    kind = "local"
    can_prestart = True

    def __init__(self, workdir: str | None = None) -> None:
        super().__init__(str(Path(workdir).expanduser()) if workdir else str(default_local_workdir()))
        Path(self.workdir).mkdir(parents=True, exist_ok=True)
        self._running: set[subprocess.Popen[bytes]] = set()
        self._pidfiles: set[str] = set()
        self._pidfiles_lock = threading.Lock()

    @property
    def lock_dir(self) -> str:
        """This host is one device whatever workdir a profile names: one lock for all of them."""
        return local_lock_dir()

    def exec(
        self,
        argv: Sequence[str],
        timeout: float | None = None,
        *,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        log: OutputFiles | None = None,
    ) -> ExecResult:
        proc, pidfile = self._spawn(argv, cwd=cwd, env=env, stdin=False)
        return self._wait(proc, pidfile, timeout, log)

    def prestart(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Prestarted | None:
        proc, pidfile = self._spawn(argv, cwd=None, env=env, stdin=True)
        return _LocalPrestarted(self, proc, pidfile)

    def _spawn(self, argv: Sequence[str], *, cwd: str | None, env: Mapping[str, str] | None,
               stdin: bool) -> tuple[subprocess.Popen[bytes], str]:
        full_env = dict(os.environ)
        if env:
            full_env.update(env)
        # Own session => own process group, so a timeout kills everything the command spawned.
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE if stdin else None,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self._running.add(proc)
        # The group's pidfile outlives a host killed by SIGKILL, so the next run can end the group.
        return proc, self._write_pidfile(proc.pid)

    def _wait(self, proc: subprocess.Popen[bytes], pidfile: str, timeout: float | None,
              log: OutputFiles | None) -> ExecResult:
        """Wait for the command, its output read as it comes into capped streams (bounded memory)."""
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        out, err = streams(log)
        pumps = [_pump(proc.stdout, out), _pump(proc.stderr, err)]
        timed_out = False
        try:
            proc.wait(timeout=timeout)
            for th in pumps:  # a child left holding the pipes past the deadline is ended with its group
                th.join(_left(deadline))
            if any(th.is_alive() for th in pumps):
                raise subprocess.TimeoutExpired(proc.args, timeout or 0)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            proc.wait()
            timed_out = True
        except BaseException:  # Ctrl-C: never leave the group running
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            for th in pumps:
                th.join(10)
            out.close()
            err.close()
            self._forget(proc, pidfile)
        return ExecResult(
            rc=proc.returncode if not timed_out else -9,
            stdout=out.text(),
            stderr=err.text(),
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
            files=log,
        )

    def _forget(self, proc: subprocess.Popen[bytes], pidfile: str) -> None:
        self._running.discard(proc)
        self._remove_pidfile(pidfile)

    def abort(self) -> None:
        for proc in list(self._running):
            _kill_group(proc)

    @property
    def pidfile_dir(self) -> str:
        """Beside this host's lock, whatever workdir a profile names: a dead run of one local profile
        leaves its runner where the next run of any local profile sweeps."""
        return os.path.join(os.path.dirname(local_lock_dir()), "local-run")

    def _write_pidfile(self, pid: int) -> str:
        path = os.path.join(self.pidfile_dir, f"{uuid.uuid4().hex}.pid")
        with self._pidfiles_lock:
            self._pidfiles.add(path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                # the group, its orchestrator (the orphan sweep's marker) and the workdir its command line names
                f.write(f"{pid} {os.getpid()} {self.workdir}\n")
        except OSError:  # an unwritable workdir fails the command's own steps, not this bookkeeping
            pass
        return path

    def _remove_pidfile(self, path: str) -> None:
        with self._pidfiles_lock:
            self._pidfiles.discard(path)
        try:
            os.unlink(path)
        except OSError:
            pass

    def running_pidfiles(self) -> frozenset[str]:
        with self._pidfiles_lock:
            return frozenset(self._pidfiles)

    def _send(self, local: Path, remote: str) -> None:
        tmp = remote + ".part"
        shutil.copyfile(local, tmp)
        os.replace(tmp, remote)

    def pull(self, remote: str, local: Path, *, max_bytes: int | None = None) -> None:
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_NOFOLLOW: a link is refused; O_NONBLOCK: a FIFO cannot hang the open
            fd = os.open(remote, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise RemoteFileMissing(f"{remote} does not exist on the device") from None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PullRefused(f"{remote} is not a regular file (a symbolic link): not pulled") from None
            raise
        part = local.with_name(local.name + ".part")
        try:
            st = os.fstat(fd)  # the opened file itself: no race with a swap after a check
            check_pullable(remote, stat.S_ISREG(st.st_mode), st.st_size, max_bytes)
        except BaseException:
            os.close(fd)
            raise
        try:
            with os.fdopen(fd, "rb") as src, open(part, "wb") as dst:
                sink = BoundedSink(dst, remote, max_bytes)
                while chunk := src.read(HASH_CHUNK):
                    sink.write(chunk)
            os.replace(part, local)
        finally:
            part.unlink(missing_ok=True)

    def _remote_sha256(self, remote: str) -> str | None:
        p = Path(remote)
        return sha256_file(p) if p.is_file() else None

    def makedirs(self, remote: str) -> None:
        Path(remote).mkdir(parents=True, exist_ok=True)

    def read_text(self, remote: str) -> str | None:
        try:
            return Path(remote).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def write_text(self, remote: str, text: str) -> None:
        p = Path(remote)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".part")
        tmp.write_text(text)
        os.replace(tmp, p)

    def free_bytes(self, remote: str) -> int | None:
        return shutil.disk_usage(remote).free

    def info(self) -> dict[str, Any]:
        mem_mb = None
        try:
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal:"):
                    mem_mb = int(line.split()[1]) // 1024
        except OSError:
            pass
        cpu_model = platform.processor() or None
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        return {
            "transport": self.kind,
            "hostname": platform.node(),
            "model": cpu_model,
            "soc": cpu_model,
            "os": f"{platform.system()} {platform.release()}",
            "abi": platform.machine(),
            "cores": os.cpu_count(),
            "ram_mb": mem_mb,
        }


class _LocalPrestarted(Prestarted):
    """Its stdout and stderr are read by threads from the start, so the ``ready`` and
    ``warm-up`` lines are seen as they come and a chatty runner never fills a pipe."""

    def __init__(self, transport: LocalTransport, proc: subprocess.Popen[bytes], pidfile: str) -> None:
        self._t, self._proc, self._pidfile = transport, proc, pidfile
        self._used = False
        self._cond = threading.Condition()
        self._out = CappedStream()
        self._err = CappedStream()
        self._ready = self._warm_up = self._eof = False
        self._readers = [threading.Thread(target=self._read_out, daemon=True), _pump(proc.stderr, self._err)]
        self._readers[0].start()

    def _read_out(self) -> None:
        """Chunks as they come, watched for the ready and warm-up lines (a line longer than a
        marker is no marker: only its start is looked at, so one endless line costs nothing)."""
        assert self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        line = bytearray()
        while chunk := os.read(fd, CHUNK):
            with self._cond:
                self._out.write(chunk)
                for piece in chunk.splitlines(keepends=True):
                    if len(line) < MARKER_LINE_BYTES:
                        line += piece[:MARKER_LINE_BYTES]
                    if piece.endswith((b"\n", b"\r")):
                        word = line.strip().decode("utf-8", "replace")
                        self._ready = self._ready or word == READY
                        self._warm_up = self._warm_up or word == WARM_UP
                        line.clear()
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def wait_ready(self, timeout: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self._eof, timeout)
            return self._ready

    def run(self, stdin: str, timeout: float | None = None, *,
            on_warm_up: Callable[[], None] | None = None, log: OutputFiles | None = None) -> ExecResult:
        if self._used:
            raise RuntimeError("a prestarted command runs once")
        self._used = True
        if log is not None:  # what it printed while it waited for its cell comes first
            self._out.attach(log.stdout)
            self._err.attach(log.stderr)
        start = time.monotonic()
        deadline = None if timeout is None else start + timeout
        self._send(stdin, close=on_warm_up is None)
        timed_out = False
        try:
            if on_warm_up is not None:
                with self._cond:
                    self._cond.wait_for(lambda: self._warm_up or self._eof, _left(deadline))
                    warming = self._warm_up and not self._eof
                if warming:
                    try:
                        on_warm_up()
                    finally:
                        self._send(GO + "\n", close=True)
                else:
                    self._send("", close=True)
            with self._cond:
                self._cond.wait_for(lambda: self._eof, _left(deadline))
            self._proc.wait(_left(deadline))
        except subprocess.TimeoutExpired:
            timed_out = True
        except BaseException:  # Ctrl-C: never leave the group running
            self._end()
            raise
        if timed_out or self._proc.poll() is None:
            timed_out = True
            self._end()
        else:
            self._finish()
        return ExecResult(rc=self._proc.returncode if not timed_out else -9, stdout=self._out.text(),
                          stderr=self._err.text(), duration_s=time.monotonic() - start, timed_out=timed_out,
                          files=log)

    def discard(self) -> None:
        if self._used:
            return
        self._used = True
        self._end()

    def _send(self, text: str, *, close: bool) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:  # one that died before its input came: its broken pipe is its exit code's business
            if text:
                stdin.write(text.encode())
                stdin.flush()
            if close:
                stdin.close()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def _end(self) -> None:
        _kill_group(self._proc)
        self._proc.wait()
        self._finish()

    def _finish(self) -> None:
        for th in self._readers:
            th.join(10)
        self._out.close()
        self._err.close()
        self._send("", close=True)
        self._t._forget(self._proc, self._pidfile)


MARKER_LINE_BYTES = 256  # the ready / warm-up lines are a word each


def _pump(stream: IO[bytes] | None, sink: CappedStream) -> threading.Thread:
    """A thread reading ``stream`` to its end into ``sink`` (started)."""

    def run() -> None:
        assert stream is not None
        fd = stream.fileno()
        try:
            while chunk := os.read(fd, CHUNK):
                sink.write(chunk)
        except OSError:
            pass

    th = threading.Thread(target=run, daemon=True)
    th.start()
    return th


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
