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
from typing import Any

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
from harness.transport.physical import default_local_workdir, local_lock_dir


def _kill_group(proc: subprocess.Popen[str]) -> None:
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
        self._running: set[subprocess.Popen[str]] = set()
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
    ) -> ExecResult:
        proc, pidfile = self._spawn(argv, cwd=cwd, env=env, stdin=False)
        return self._wait(proc, pidfile, timeout)

    def prestart(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Prestarted | None:
        proc, pidfile = self._spawn(argv, cwd=None, env=env, stdin=True)
        return _LocalPrestarted(self, proc, pidfile)

    def _spawn(self, argv: Sequence[str], *, cwd: str | None, env: Mapping[str, str] | None,
               stdin: bool) -> tuple[subprocess.Popen[str], str]:
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
            text=True,
            start_new_session=True,
        )
        self._running.add(proc)
        # The group's pidfile outlives a host killed by SIGKILL, so the next run can end the group.
        return proc, self._write_pidfile(proc.pid)

    def _wait(self, proc: subprocess.Popen[str], pidfile: str, timeout: float | None) -> ExecResult:
        start = time.monotonic()
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            timed_out = True
        except BaseException:  # Ctrl-C: never leave the group running
            _kill_group(proc)
            proc.wait()
            raise
        finally:
            self._forget(proc, pidfile)
        return ExecResult(
            rc=proc.returncode if not timed_out else -9,
            stdout=out,
            stderr=err,
            duration_s=time.monotonic() - start,
            timed_out=timed_out,
        )

    def _forget(self, proc: subprocess.Popen[str], pidfile: str) -> None:
        self._running.discard(proc)
        self._remove_pidfile(pidfile)

    def abort(self) -> None:
        for proc in list(self._running):
            _kill_group(proc)

    def _write_pidfile(self, pid: int) -> str:
        path = os.path.join(self.workdir, "run", f"{uuid.uuid4().hex}.pid")
        with self._pidfiles_lock:
            self._pidfiles.add(path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(f"{pid}\n")
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

    def __init__(self, transport: LocalTransport, proc: subprocess.Popen[str], pidfile: str) -> None:
        self._t, self._proc, self._pidfile = transport, proc, pidfile
        self._used = False
        self._cond = threading.Condition()
        self._out: list[str] = []
        self._err: list[str] = []
        self._ready = self._warm_up = self._eof = False
        self._readers = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
        for th in self._readers:
            th.start()

    def _read_out(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            with self._cond:
                self._out.append(line)
                word = line.strip()
                self._ready = self._ready or word == READY
                self._warm_up = self._warm_up or word == WARM_UP
                self._cond.notify_all()
        with self._cond:
            self._eof = True
            self._cond.notify_all()

    def _read_err(self) -> None:
        assert self._proc.stderr is not None
        self._err.append(self._proc.stderr.read())

    def wait_ready(self, timeout: float) -> bool:
        with self._cond:
            self._cond.wait_for(lambda: self._ready or self._eof, timeout)
            return self._ready

    def run(self, stdin: str, timeout: float | None = None, *,
            on_warm_up: Callable[[], None] | None = None) -> ExecResult:
        if self._used:
            raise RuntimeError("a prestarted command runs once")
        self._used = True
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
        return ExecResult(rc=self._proc.returncode if not timed_out else -9, stdout="".join(self._out),
                          stderr="".join(self._err), duration_s=time.monotonic() - start, timed_out=timed_out)

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
                stdin.write(text)
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
        self._send("", close=True)
        self._t._forget(self._proc, self._pidfile)


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())
