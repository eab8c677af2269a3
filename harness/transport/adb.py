"""ADB transport (Android phones, local or through a device farm's remote adb server).

Speaks the adb *host* protocol to an adb server through adbutils' connection object, with
its own readers where adbutils' helpers fall short: ``shell,v2`` with a wall-clock deadline
(separate stdout/stderr and the exit code) and sync SEND/RECV in 64 KiB chunks (adbutils
sends 4 KiB). The adb binary is pinned: ``ADBUTILS_ADB_PATH``, else Debian's /usr/bin/adb,
else the one inside the adbutils wheel; it is only used to start a *local* server.

A TCP device (serial ``host:port``) that went ``offline`` or vanished (rebooted, Wi-Fi
blip) is recovered with disconnect + connect before the call is given up; a USB device in
that state is reported as a retryable TransportError.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import struct
import subprocess
import time
from pathlib import Path

import adbutils

from harness.config.models import AdbTransportConfig
from harness.errors import HarnessError, TransportError
from harness.transport.base import BoundedSink, RemoteFileMissing, check_pullable
from harness.transport.capture import OutputFiles, streams
from harness.transport.remote import RemoteTransport

DEFAULT_SERVER_PORT = 5037
SYNC_CHUNK = 64 * 1024
CONNECT_WAIT_S = 5.0  # for a connected device to come online
CONNECT_TIMEOUT_S = 5.0  # for `adb connect` itself (a dead host answers in ~10 s otherwise)
_TCP_SERIAL = re.compile(r"^[^:\s]+:\d+$")
_LINK_ERRORS = (adbutils.AdbError, OSError, EOFError)


def pinned_adb() -> str:
    """The adb binary this harness uses (see module docstring)."""
    env = os.environ.get("ADBUTILS_ADB_PATH")
    if env:
        return env
    if Path("/usr/bin/adb").is_file():
        return "/usr/bin/adb"
    return str(adbutils.adb_path())


def parse_server(server: str | None) -> tuple[str, int]:
    if not server:
        return "127.0.0.1", int(os.environ.get("ANDROID_ADB_SERVER_PORT", DEFAULT_SERVER_PORT))
    host, sep, port = server.rpartition(":")
    if not sep or not port.isdigit():
        raise HarnessError(f"adb server {server!r}: expected host:port")
    return host or "127.0.0.1", int(port)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError(f"adb stream closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


class AdbTransport(RemoteTransport):
    kind = "adb"

    def __init__(self, cfg: AdbTransportConfig, device: str = "") -> None:
        super().__init__(cfg.workdir, device or cfg.serial)
        self.cfg = cfg
        self.serial = cfg.serial
        self.server_host, self.server_port = parse_server(cfg.server)
        self._client = adbutils.AdbClient(host=self.server_host, port=self.server_port, socket_timeout=30)
        self._shell_v2 = False
        self._ensure_server()
        if cfg.connect:
            self._connect_tcp()

    def _where(self) -> str:
        return f"device {self.device} (adb {self.serial} via {self.server_host}:{self.server_port})"

    # ---- server and device state ----------------------------------------------------
    def _server_up(self) -> bool:
        try:
            socket.create_connection((self.server_host, self.server_port), timeout=2).close()
            return True
        except OSError:
            return False

    def _ensure_server(self) -> None:
        if self._server_up():
            return
        if self.server_host not in ("127.0.0.1", "localhost", "::1"):
            raise TransportError(f"{self._where()}: remote adb server is not reachable")
        adb = pinned_adb()
        res = subprocess.run(
            [adb, "-P", str(self.server_port), "start-server"], capture_output=True, text=True, timeout=60
        )
        if res.returncode != 0 or not self._server_up():
            raise TransportError(f"{self._where()}: `{adb} start-server` failed: {res.stderr.strip()}")

    def state(self) -> str:
        """The server's view of the device: device / offline / unauthorized / absent."""
        try:
            for d in self._client.list():
                if d.serial == self.serial:
                    return str(d.state)
        except _LINK_ERRORS as e:
            raise TransportError(f"{self._where()}: adb server unreachable: {e}") from e
        return "absent"

    def _connect_tcp(self) -> None:
        try:
            self._client.disconnect(self.serial)
        except _LINK_ERRORS:
            pass
        try:
            reply = self._client.connect(self.serial, timeout=CONNECT_TIMEOUT_S)
        except _LINK_ERRORS as e:
            raise TransportError(f"{self._where()}: adb connect failed: {e}") from e
        if not reply.startswith(("connected", "already connected")):
            raise TransportError(f"{self._where()}: adb connect: {reply.strip()}")
        deadline = time.monotonic() + CONNECT_WAIT_S
        while (st := self.state()) != "device":
            if time.monotonic() > deadline:
                raise TransportError(f"{self._where()}: still {st} after adb connect")
            time.sleep(0.1)

    def recover(self) -> None:
        """Bring an offline/vanished device back (TCP: disconnect + connect)."""
        self._ensure_server()
        st = self.state()
        if st == "device":
            return
        if st == "unauthorized":
            raise HarnessError(f"{self._where()}: unauthorized: accept the USB debugging prompt on the phone")
        if not _TCP_SERIAL.match(self.serial):
            raise TransportError(f"{self._where()}: device is {st}; replug it or run `adb reconnect`")
        self._connect_tcp()

    # ---- opening services -----------------------------------------------------------
    def _open(self, service: str, timeout: float | None) -> socket.socket:
        """A socket to a device service, recovering an offline TCP device once."""
        last: Exception | None = None
        for attempt in range(2):
            c = None
            try:
                c = self._client.make_connection(timeout=timeout or 30)
                c.send_command(f"host:transport:{self.serial}")
                c.check_okay()
                c.send_command(service)
                c.check_okay()
                sock = c.conn
                sock.settimeout(timeout)
                return sock
            except _LINK_ERRORS as e:
                if c is not None:
                    c.close()
                last = e
                if attempt == 0:
                    try:
                        self.recover()
                    except TransportError as r:
                        raise TransportError(f"cannot open {service.split(':')[0]}: {e}; {r}") from e
        raise TransportError(f"{self._where()}: cannot open {service.split(':')[0]}: {last}") from last

    def _require_shell_v2(self) -> None:
        """Exit codes and separate stderr need shell v2 (Android 7+); say so instead of guessing."""
        if self._shell_v2:
            return
        try:
            features = set(self._client.device(self.serial).get_features().split(","))
        except _LINK_ERRORS:
            return  # unreachable right now: _open reports (and recovers) it properly
        if "shell_v2" not in features:
            raise HarnessError(
                f"{self._where()}: the device's adbd lacks shell_v2 (Android < 7), so exit codes and stderr "
                f"cannot be told apart; the harness needs Android 7 or newer"
            )
        self._shell_v2 = True

    # ---- raw primitive: shell v2 with a deadline ------------------------------------
    def _run(self, line: str, timeout: float | None, log: OutputFiles | None = None) -> tuple[int, str, str, bool]:
        self._require_shell_v2()
        sock = self._open(f"shell,v2,raw:{line}", timeout)
        out, err = streams(log)  # bounded, whatever the device prints
        deadline = time.monotonic() + timeout if timeout else None
        rc: int | None = None
        timed_out = False
        try:
            while rc is None:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError()
                    sock.settimeout(left)
                head = _recv_exact(sock, 5)
                data = _recv_exact(sock, struct.unpack("<I", head[1:])[0])
                if head[0] == 1:
                    out.write(data)
                elif head[0] == 2:
                    err.write(data)
                elif head[0] == 3:
                    rc = data[0] if data else 255
        except TimeoutError:
            timed_out = True
        except (OSError, EOFError) as e:
            raise TransportError(f"{self._where()}: connection lost during a command: {e}") from e
        finally:
            sock.close()  # a still-running shell gets SIGHUP from adbd
            out.close()
            err.close()
        return (rc if rc is not None else -9), out.text(), err.text(), timed_out

    # ---- sync service ---------------------------------------------------------------
    @staticmethod
    def _sync_req(sock: socket.socket, cmd: bytes, arg: str) -> None:
        data = arg.encode("utf-8")
        sock.sendall(cmd + struct.pack("<I", len(data)) + data)

    def _sync_fail_text(self, sock: socket.socket) -> str:
        n = struct.unpack("<I", _recv_exact(sock, 4))[0]
        return _recv_exact(sock, n).decode("utf-8", "replace")

    def _send_bytes(self, chunks, remote: str, mode: int = 0o644) -> None:  # type: ignore[no-untyped-def]
        sock = self._open("sync:", 120)
        try:
            self._sync_req(sock, b"SEND", f"{remote},{0o100000 | mode}")
            for chunk in chunks:
                sock.sendall(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
            sock.sendall(b"DONE" + struct.pack("<I", int(time.time())))
            status = _recv_exact(sock, 4)
            if status == b"FAIL":
                raise TransportError(f"{self._where()}: push to {remote} refused: {self._sync_fail_text(sock)}",
                                     retryable=False)
            _recv_exact(sock, 4)
            self._sync_req(sock, b"QUIT", "")
        except (OSError, EOFError) as e:
            raise TransportError(f"{self._where()}: connection lost pushing {remote}: {e}") from e
        finally:
            sock.close()

    def _recv_to(self, remote: str, sink) -> bool:  # type: ignore[no-untyped-def]
        """Stream a device file into sink(bytes); False when it does not exist."""
        sock = self._open("sync:", 120)
        try:
            self._sync_req(sock, b"RECV", remote)
            while True:
                head = _recv_exact(sock, 8)
                kind, n = head[:4], struct.unpack("<I", head[4:])[0]
                if kind == b"DATA":
                    sink(_recv_exact(sock, n))
                elif kind == b"DONE":
                    self._sync_req(sock, b"QUIT", "")
                    return True
                elif kind == b"FAIL":
                    _recv_exact(sock, n)
                    return False
                else:
                    raise TransportError(f"{self._where()}: bad sync reply {kind!r} pulling {remote}")
        except (OSError, EOFError) as e:
            raise TransportError(f"{self._where()}: connection lost pulling {remote}: {e}") from e
        finally:
            sock.close()

    def _send(self, local: Path, remote: str) -> None:
        def chunks():  # type: ignore[no-untyped-def]
            with open(local, "rb") as f:
                while chunk := f.read(SYNC_CHUNK):
                    yield chunk

        self._send_bytes(chunks(), remote)

    def _lstat(self, remote: str) -> tuple[int, int]:
        """(mode, size) from sync STAT (adbd answers it with lstat: a link is not followed); mode 0: absent."""
        sock = self._open("sync:", 120)
        try:
            self._sync_req(sock, b"STAT", remote)
            head = _recv_exact(sock, 16)
            if head[:4] != b"STAT":
                raise TransportError(f"{self._where()}: bad sync reply {head[:4]!r} to STAT {remote}")
            mode, size, _mtime = struct.unpack("<III", head[4:])
            self._sync_req(sock, b"QUIT", "")
            return mode, size
        except (OSError, EOFError) as e:
            raise TransportError(f"{self._where()}: connection lost at STAT {remote}: {e}") from e
        finally:
            sock.close()

    def pull(self, remote: str, local: Path, *, max_bytes: int | None = None) -> None:
        local = Path(local)
        local.parent.mkdir(parents=True, exist_ok=True)
        mode, size = self._lstat(remote)
        if mode == 0:
            raise RemoteFileMissing(f"{self._where()}: {remote} does not exist on the device")
        check_pullable(remote, stat.S_ISREG(mode), size, max_bytes)  # STAT sizes are 32-bit: the sink bounds too
        part = local.with_name(local.name + ".part")
        try:
            with open(part, "wb") as f:
                found = self._recv_to(remote, BoundedSink(f, remote, max_bytes).write)
            if not found:
                raise RemoteFileMissing(f"{self._where()}: {remote} does not exist on the device")
            os.replace(part, local)
        finally:
            part.unlink(missing_ok=True)

    def read_text(self, remote: str) -> str | None:
        parts: list[bytes] = []
        return b"".join(parts).decode("utf-8") if self._recv_to(remote, parts.append) else None

    def write_text(self, remote: str, text: str) -> None:
        self._send_bytes([text.encode("utf-8")], remote)

    def info(self) -> dict[str, object]:
        facts = super().info()
        facts["serial"] = self.serial
        return facts
