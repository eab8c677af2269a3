"""SSH transport (Raspberry Pi, Jetson, Mac, any Linux box) on asyncssh.

Why asyncssh — measured on the loopback sshd rig (benchmarks/test_transport_overhead.py,
a shared 2-core VM, medians of 15): per raw command asyncssh 4.8-5.0 ms, paramiko 3.6-4.1
ms *with* TCP_NODELAY and ~48 ms without; SFTP put of 8 MB asyncssh 67-73 MB/s, paramiko
83-87 MB/s, scp 17-21 MB/s. So paramiko+NODELAY is marginally faster on loopback (about a
millisecond a command, well under 1 % of a cell); asyncssh is kept because it brings, built
in, what paramiko would need hand-written here: ssh_config with ProxyJump, known_hosts with
hashed entries, one multiplexed connection shared by threads, and keepalives.

One connection is kept open and multiplexes every command and SFTP transfer; asyncssh runs
on a private event loop thread so the interface stays blocking.

~/.ssh/config is honoured (Host aliases, HostName, User, Port, IdentityFile, ProxyJump);
profile fields override it. Host keys are checked against known_hosts: an unknown key is
refused unless the profile sets ``trust_host_key`` (then it is recorded), a *changed* key
is always refused.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import stat
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncssh

from harness.config.models import SshTransportConfig
from harness.errors import HarnessError, TransportError
from harness.transport.base import BoundedSink, PullRefused, RemoteFileMissing, check_pullable
from harness.transport.capture import CHUNK, CappedStream, OutputFiles, streams
from harness.transport.remote import RemoteTransport

SFTP_CHUNK = 1 << 18

T = TypeVar("T")

_LINK_ERRORS = (OSError, asyncio.TimeoutError, asyncssh.DisconnectError, asyncssh.ConnectionLost, EOFError)


class _HostKeyPolicy(asyncssh.SSHClient):
    """Called by asyncssh only for a key that known_hosts does not already trust."""

    def __init__(self, known_hosts: Path, trust_unknown: bool) -> None:
        self.known_hosts = known_hosts
        self.trust_unknown = trust_unknown
        self.verdict: str | None = None  # "unknown" | "changed" when refused
        self.fingerprint: str | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.fingerprint = key.get_fingerprint()
        known = asyncssh.read_known_hosts(str(self.known_hosts)) if self.known_hosts.is_file() else None
        if known is not None and known.match(host, addr, port)[0]:
            self.verdict = "changed"
            return False
        if not self.trust_unknown:
            self.verdict = "unknown"
            return False
        name = host if port == 22 else f"[{host}]:{port}"
        self.known_hosts.parent.mkdir(parents=True, exist_ok=True)
        with open(self.known_hosts, "a") as f:
            f.write(f"{name} {key.export_public_key('openssh').decode().strip()}\n")
        return True


class SshTransport(RemoteTransport):
    kind = "ssh"

    def __init__(self, cfg: SshTransportConfig, device: str = "") -> None:
        super().__init__(cfg.workdir, device or cfg.host)
        self.cfg = cfg
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=f"ssh-{self.device}", daemon=True)
        self._thread.start()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._tunnel: asyncssh.SSHClientConnection | None = None
        self._connect_lock: asyncio.Lock | None = None

    # ---- loop plumbing --------------------------------------------------------------
    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        fut = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return fut.result()
        except BaseException:
            fut.cancel()
            raise

    def _where(self) -> str:
        port = f":{self.cfg.port}" if self.cfg.port else ""
        return f"device {self.device} ({self.cfg.host}{port})"

    # ---- connection -----------------------------------------------------------------
    async def _connection(self) -> asyncssh.SSHClientConnection:
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            if self._conn is None:
                self._conn = await self._open()
            return self._conn

    async def _open(self) -> asyncssh.SSHClientConnection:
        cfg = self.cfg
        known = Path(cfg.known_hosts or "~/.ssh/known_hosts").expanduser()
        policy = _HostKeyPolicy(known, cfg.trust_host_key)
        config = Path(cfg.ssh_config or "~/.ssh/config").expanduser()
        opts: dict[str, Any] = {
            "known_hosts": str(known) if known.is_file() else ([], [], []),
            "client_factory": lambda: policy,
            "config": [str(config)] if config.is_file() else None,
            "connect_timeout": cfg.connect_timeout_s,
            "keepalive_interval": 15,
            "keepalive_count_max": 3,
        }
        if cfg.port:
            opts["port"] = cfg.port
        if cfg.user:
            opts["username"] = cfg.user
        if cfg.identity_file:
            opts["client_keys"] = [str(Path(cfg.identity_file).expanduser())]
        try:
            if cfg.proxy_jump:
                self._tunnel = opts["tunnel"] = await self._jump(cfg.proxy_jump, opts)
            return await asyncssh.connect(cfg.host, **opts)
        except asyncssh.HostKeyNotVerifiable as e:
            if policy.verdict == "changed":
                raise HarnessError(
                    f"{self._where()}: host key CHANGED (now {policy.fingerprint}); known_hosts {known} has a "
                    f"different key for this host. Possible man-in-the-middle or a reinstalled device: verify "
                    f"it, then remove the old line (ssh-keygen -R) and reconnect"
                ) from e
            raise HarnessError(
                f"{self._where()}: unknown host key {policy.fingerprint or ''} (not in {known}). Verify it and "
                f"add it (ssh-keyscan), or set trust_host_key: true in the device profile"
            ) from e
        except asyncssh.PermissionDenied as e:
            raise HarnessError(
                f"{self._where()}: ssh key authentication refused ({e.reason}); check user and identity_file"
            ) from e
        except _LINK_ERRORS as e:
            raise TransportError(f"{self._where()}: cannot connect: {e or type(e).__name__}") from e

    @staticmethod
    async def _jump(spec: str, opts: dict[str, Any]) -> asyncssh.SSHClientConnection:
        """Connect to a ProxyJump host ``[user@]host[:port]`` with the device's keys and host-key policy."""
        user, _, hostport = spec.rpartition("@")
        host, _, port = hostport.rpartition(":") if hostport.count(":") == 1 else (hostport, "", "")
        jopts = {k: v for k, v in opts.items() if k not in ("port", "username", "tunnel")}
        if user:
            jopts["username"] = user
        if port:
            jopts["port"] = int(port)
        return await asyncssh.connect(host or hostport, **jopts)

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        conn = await self._connection()
        if self._sftp is None:
            self._sftp = await conn.start_sftp_client()
        return self._sftp

    def _drop(self) -> None:
        conn, self._conn, self._sftp = self._conn, None, None
        tunnel, self._tunnel = self._tunnel, None
        for c in (conn, tunnel):
            if c is not None:
                c.abort()

    async def _guard(self, coro: Coroutine[Any, Any, T], what: str) -> T:
        """Map a dropped link to a retryable TransportError and forget the dead connection."""
        try:
            return await coro
        except (asyncssh.ChannelOpenError, *_LINK_ERRORS) as e:
            self._drop()
            raise TransportError(f"{self._where()}: connection lost during {what}: {e or type(e).__name__}") from e
        except asyncssh.SFTPConnectionLost as e:
            self._drop()
            raise TransportError(f"{self._where()}: connection lost during {what}: {e}") from e

    # ---- raw primitive --------------------------------------------------------------
    async def _run_async(self, line: str, timeout: float | None,
                         log: OutputFiles | None = None) -> tuple[int, str, str, bool]:
        """Run ``line``; its stdout and stderr are read in chunks as they come into capped
        streams, so a device printing a gigabyte costs the host a bounded amount of memory."""
        conn = await self._connection()
        out, err = streams(log)

        async def pump(stream: asyncssh.SSHReader[bytes], sink: CappedStream) -> None:
            while chunk := await stream.read(CHUNK):
                sink.write(chunk)

        proc = await conn.create_process(line, encoding=None)
        try:
            await asyncio.wait_for(asyncio.gather(pump(proc.stdout, out), pump(proc.stderr, err), proc.wait()),
                                   timeout)
        except asyncio.TimeoutError:
            proc.close()  # the remote wrapper's process group is ended by its own timeout handling
            return -9, out.text(), err.text(), True
        finally:
            proc.close()
            out.close()
            err.close()
        if proc.exit_status is None and proc.exit_signal is None:
            raise asyncssh.ConnectionLost("channel closed without an exit status")
        rc = proc.exit_status if proc.exit_status is not None else -1
        return rc, out.text(), err.text(), False

    def _run(self, line: str, timeout: float | None, log: OutputFiles | None = None) -> tuple[int, str, str, bool]:
        return self._call(self._guard(self._run_async(line, timeout, log), "a command"))

    # ---- files ----------------------------------------------------------------------
    def _send(self, local: Path, remote: str) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            part = remote + ".part"
            await sftp.put(str(local), part)
            await sftp.posix_rename(part, remote)

        self._call(self._guard(go(), f"push of {local.name}"))

    def pull(self, remote: str, local: Path, *, max_bytes: int | None = None) -> None:
        local = Path(local)
        part = local.with_name(local.name + ".part")

        async def go() -> None:
            sftp = await self._sftp_client()
            try:
                attrs = await sftp.lstat(remote)  # a link is not followed
            except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath) as e:
                raise RemoteFileMissing(f"{self._where()}: {remote} does not exist on the device") from e
            regular = attrs.type == asyncssh.FILEXFER_TYPE_REGULAR or (
                attrs.permissions is not None and stat.S_ISREG(attrs.permissions))
            check_pullable(remote, regular, attrs.size or 0, max_bytes)
            try:
                async with sftp.open(remote, "rb") as src:
                    with open(part, "wb") as f:
                        sink = BoundedSink(f, remote, max_bytes)
                        while chunk := await src.read(SFTP_CHUNK):
                            sink.write(chunk if isinstance(chunk, bytes) else chunk.encode())
            except asyncssh.SFTPConnectionLost:
                raise
            except asyncssh.SFTPError as e:  # e.g. permission denied
                raise PullRefused(f"{self._where()}: cannot read {remote}: {e.reason}") from e

        local.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._call(self._guard(go(), f"pull of {remote}"))
            os.replace(part, local)
        finally:
            part.unlink(missing_ok=True)

    def read_text(self, remote: str) -> str | None:
        async def go() -> str | None:
            sftp = await self._sftp_client()
            try:
                async with sftp.open(remote, "r", encoding="utf-8") as f:
                    return str(await f.read())
            except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath, asyncssh.SFTPFailure):
                return None

        return self._call(self._guard(go(), f"read of {remote}"))

    def write_text(self, remote: str, text: str) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            await sftp.makedirs(posixpath.dirname(remote) or "/", exist_ok=True)
            part = remote + ".part"
            async with sftp.open(part, "w", encoding="utf-8") as f:
                await f.write(text)
            await sftp.posix_rename(part, remote)

        self._call(self._guard(go(), f"write of {remote}"))

    def makedirs(self, remote: str) -> None:
        async def go() -> None:
            sftp = await self._sftp_client()
            await sftp.makedirs(remote, exist_ok=True)

        self._call(self._guard(go(), f"mkdir {remote}"))

    def free_bytes(self, remote: str) -> int | None:
        async def go() -> int | None:
            sftp = await self._sftp_client()
            try:
                st = await sftp.statvfs(remote)
            except asyncssh.SFTPError:
                return None
            return int(st.bavail * st.frsize)

        got = self._call(self._guard(go(), "statvfs"))
        return got if got is not None else super().free_bytes(remote)

    def close(self) -> None:
        if self._loop.is_closed():
            return
        super().close()

        async def shut() -> None:
            conn, self._conn, self._sftp = self._conn, None, None
            tunnel, self._tunnel = self._tunnel, None
            for c in (conn, tunnel):
                if c is None:
                    continue
                c.close()
                try:
                    await asyncio.wait_for(c.wait_closed(), 5)
                except (asyncio.TimeoutError, *_LINK_ERRORS):
                    pass

        try:
            self._call(shut())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._loop.close()

