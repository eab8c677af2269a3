"""A protocol-faithful adbd in Python, for the REAL adb server to talk to over TCP loopback.

Wire protocol (system/core/adb/protocol.txt): 24-byte little-endian headers
``command, arg0, arg1, data_length, data_crc32, magic`` with CNXN / OPEN / OKAY / WRTE /
CLSE. We answer CNXN with version 0x01000001 (checksums skipped) and no AUTH: the adb
server marks such a device online. One outstanding WRTE per stream (wait for OKAY).

Services: ``shell,v2[,raw|pty][,ENV...]:CMD`` (stdout/stderr/exit packets, stdin packets,
close-stdin; closing the stream hangs up the shell with SIGHUP like adbd does),
``shell:CMD`` / ``exec:CMD`` (raw, merged output), ``sync:`` (STAT/LIST/SEND/RECV/QUIT,
v1), ``tcp:PORT`` (forwards), ``reboot:`` (drops the link). Anything else is refused with
CLSE. Commands run on this host with ``sh`` inside the device tree (tests/rigs/devicetree.py):
cwd ``<root>/data/local/tmp`` and ``<root>/system/bin`` (getprop) first on PATH.

Fault injection: ``silent = True`` ignores CNXN (the server shows the device ``offline``),
``kick()`` cuts every connection, ``slow_s`` delays every packet we send.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import stat
import struct
import subprocess
import threading
import time
from pathlib import Path

A_SYNC, A_CNXN, A_OPEN, A_OKAY = 0x434E5953, 0x4E584E43, 0x4E45504F, 0x59414B4F
A_CLSE, A_WRTE, A_AUTH = 0x45534C43, 0x45545257, 0x48545541
A_VERSION = 0x01000001
MAX_PAYLOAD = 256 * 1024
SYNC_DATA_MAX = 64 * 1024
HEADER = struct.Struct("<6I")
FEATURES = "shell_v2,cmd,fixed_push_mkdir"

# shell v2 packet ids
ID_STDIN, ID_STDOUT, ID_STDERR, ID_EXIT, ID_CLOSE_STDIN, ID_WINDOW = 0, 1, 2, 3, 4, 5


def _packet(cmd: int, arg0: int, arg1: int, data: bytes = b"") -> bytes:
    return HEADER.pack(cmd, arg0, arg1, len(data), 0, cmd ^ 0xFFFFFFFF) + data


class _Closed(Exception):
    pass


class Stream:
    """One adb stream: ordered inbound bytes, flow-controlled outbound writes."""

    def __init__(self, conn: _Connection, local_id: int, remote_id: int) -> None:
        self.conn, self.local_id, self.remote_id = conn, local_id, remote_id
        self.inbox: queue.Queue[bytes | None] = queue.Queue()
        self._buf = b""
        self._acked = threading.Semaphore(1)
        self.closed = threading.Event()
        self.wake = threading.Event()  # set when the stream closes (services wait on it)

    # inbound
    def feed(self, data: bytes) -> None:
        self.inbox.put(data)

    def read_some(self) -> bytes:
        if self._buf:
            data, self._buf = self._buf, b""
            return data
        item = self.inbox.get()
        if item is None:
            self.inbox.put(None)
            raise _Closed()
        return item

    def read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            item = self.inbox.get()
            if item is None:
                self.inbox.put(None)
                raise _Closed()
            self._buf += item
        data, self._buf = self._buf[:n], self._buf[n:]
        return data

    # outbound
    def write(self, data: bytes) -> None:
        for i in range(0, len(data), self.conn.max_payload):
            while not self._acked.acquire(timeout=0.5):
                if self.closed.is_set():
                    raise _Closed()
            if self.closed.is_set():
                raise _Closed()
            self.conn.send(_packet(A_WRTE, self.local_id, self.remote_id, data[i : i + self.conn.max_payload]))

    def okay(self) -> None:
        self._acked.release()

    def close(self) -> None:
        if not self.closed.is_set():
            self.closed.set()
            self.wake.set()
            self.inbox.put(None)
            self.conn.send(_packet(A_CLSE, self.local_id, self.remote_id))
            self.conn.forget(self.local_id)

    def remote_closed(self) -> None:
        self.closed.set()
        self.wake.set()
        self.inbox.put(None)
        self.conn.forget(self.local_id)


class _Connection:
    def __init__(self, adbd: Adbd, sock: socket.socket) -> None:
        self.adbd, self.sock = adbd, sock
        self.max_payload = 4096
        self._send_lock = threading.Lock()
        self._streams: dict[int, Stream] = {}
        self._next_id = 1
        self._ids_lock = threading.Lock()

    def send(self, data: bytes) -> None:
        if self.adbd.slow_s:
            time.sleep(self.adbd.slow_s)
        with self._send_lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass

    def forget(self, local_id: int) -> None:
        with self._ids_lock:
            self._streams.pop(local_id, None)

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise _Closed()
            buf += chunk
        return buf

    def serve(self) -> None:
        try:
            while True:
                cmd, arg0, arg1, length, _crc, _magic = HEADER.unpack(self._recv_exact(HEADER.size))
                data = self._recv_exact(length) if length else b""
                self._dispatch(cmd, arg0, arg1, data)
        except (_Closed, OSError):
            pass
        finally:
            with self._ids_lock:
                streams = list(self._streams.values())
            for s in streams:
                s.remote_closed()
            try:
                self.sock.close()
            except OSError:
                pass
            self.adbd._forget(self)

    def _dispatch(self, cmd: int, arg0: int, arg1: int, data: bytes) -> None:
        if cmd == A_CNXN:
            if self.adbd.silent:
                return
            self.max_payload = min(arg1 or 4096, MAX_PAYLOAD)
            banner = ";".join(f"{k}={v}" for k, v in self.adbd.banner_props.items())
            features = self.adbd.features
            self.send(_packet(A_CNXN, A_VERSION, MAX_PAYLOAD, f"device::{banner};features={features}".encode()))
        elif cmd == A_OPEN:
            with self._ids_lock:
                local_id = self._next_id
                self._next_id += 1
                stream = Stream(self, local_id, arg0)
                self._streams[local_id] = stream
            service = data.rstrip(b"\0").decode("utf-8", "replace")
            threading.Thread(target=self.adbd.open_service, args=(stream, service), daemon=True).start()
        else:
            with self._ids_lock:
                stream = self._streams.get(arg1)
            if stream is None:
                return
            if cmd == A_WRTE:
                stream.feed(data)
                self.send(_packet(A_OKAY, stream.local_id, stream.remote_id))
            elif cmd == A_OKAY:
                stream.okay()
            elif cmd == A_CLSE:
                stream.remote_closed()


class Adbd:
    """Listen on 127.0.0.1:port (outside 5555-5585) and serve the device tree at root."""

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root)
        self.workdir = self.root / "data/local/tmp"
        self.silent = False
        self.slow_s = 0.0
        self.features = FEATURES  # drop shell_v2 to play a pre-Android-7 device
        # An ARM phone's /proc/cpuinfo for every shell (a private mount namespace per command):
        # aarch64 programs under qemu user-mode then read what a real phone shows them.
        self.cpuinfo: Path | None = None
        self.banner_props = {
            "ro.product.name": "harnessrig",
            "ro.product.model": "HarnessRig_Phone",
            "ro.product.device": "rig",
        }
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", port))
        self.port: int = self._srv.getsockname()[1]
        assert not 5555 <= self.port <= 5585, "the adb server probes 5555-5585 as emulators"
        self._srv.listen(16)
        self._conns: list[_Connection] = []
        self._lock = threading.Lock()
        self.children: set[int] = set()
        self._stopped = False
        threading.Thread(target=self._accept, name=f"adbd-{self.port}", daemon=True).start()

    # ---- lifecycle & faults ---------------------------------------------------------
    def kick(self) -> None:
        with self._lock:
            conns, self._conns = self._conns, []
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self) -> None:
        self._stopped = True
        self.kick()
        self._srv.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                sock, _ = self._srv.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=conn.serve, daemon=True).start()

    def _forget(self, conn: _Connection) -> None:
        with self._lock:
            if conn in self._conns:
                self._conns.remove(conn)

    # ---- services -------------------------------------------------------------------
    def open_service(self, stream: Stream, service: str) -> None:
        conn = stream.conn
        name, _, rest = service.partition(":")
        base = name.split(",")[0]
        handler = {"shell": self._shell, "exec": self._exec, "sync": self._sync, "tcp": self._tcp}.get(base)
        if handler is None and service.startswith("reboot"):
            conn.send(_packet(A_OKAY, stream.local_id, stream.remote_id))
            self.kick()
            return
        if handler is None:
            stream.close()
            return
        conn.send(_packet(A_OKAY, stream.local_id, stream.remote_id))
        try:
            handler(stream, name, rest)
        except _Closed:
            pass
        finally:
            stream.close()

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PATH"] = f"{self.root / 'system/bin'}:{env.get('PATH', '/usr/bin:/bin')}"
        env["ANDROID_DATA"] = str(self.root / "data")
        env["TMPDIR"] = str(self.workdir)
        return env

    def _spawn(self, command: str, merge: bool, env_extra: dict[str, str]) -> subprocess.Popen[bytes]:
        argv = ["sh", "-c", command] if command else ["sh"]
        if self.cpuinfo is not None:
            argv = ["unshare", "-m", "sh", "-c", 'mount --bind "$0" /proc/cpuinfo && exec "$@"',
                    str(self.cpuinfo), *argv]
        proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env={**self._env(), **env_extra},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        )
        self.children.add(proc.pid)
        return proc

    def _hangup(self, proc: subprocess.Popen[bytes]) -> None:
        """The stream closed under a running shell: SIGHUP it, as adbd does."""
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGHUP)
            except ProcessLookupError:
                pass

    def _shell(self, stream: Stream, name: str, command: str) -> None:
        opts = name.split(",")[1:]
        env_extra = dict(o.split("=", 1) for o in opts if "=" in o)
        if "v2" not in opts:
            self._raw(stream, command, env_extra)
            return
        proc = self._spawn(command, merge=False, env_extra=env_extra)
        assert proc.stdout and proc.stderr and proc.stdin
        out_lock = threading.Lock()

        def frame(pid: int, data: bytes) -> None:
            with out_lock:
                stream.write(bytes([pid]) + struct.pack("<I", len(data)) + data)

        def pump(f, pid: int) -> None:  # type: ignore[no-untyped-def]
            try:
                while True:
                    data = os.read(f.fileno(), SYNC_DATA_MAX)
                    if not data:
                        return
                    frame(pid, data)
            except (_Closed, OSError):
                return

        pumps = [threading.Thread(target=pump, args=(f, i), daemon=True)
                 for f, i in ((proc.stdout, ID_STDOUT), (proc.stderr, ID_STDERR))]
        for t in pumps:
            t.start()
        threading.Thread(target=self._feed_v2_stdin, args=(stream, proc), daemon=True).start()
        threading.Thread(target=lambda: (proc.wait(), stream.wake.set()), daemon=True).start()
        stream.wake.wait()  # the shell exited, or the host closed the stream under it
        if proc.poll() is None:
            self._hangup(proc)
            proc.wait()
        for t in pumps:
            t.join()
        self.children.discard(proc.pid)
        if not stream.closed.is_set():
            frame(ID_EXIT, bytes([proc.returncode & 0xFF]))

    def _feed_v2_stdin(self, stream: Stream, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdin
        try:
            while True:
                header = stream.read_exact(5)
                data = stream.read_exact(struct.unpack("<I", header[1:])[0])
                if header[0] == ID_STDIN:
                    proc.stdin.write(data)
                    proc.stdin.flush()
                elif header[0] == ID_CLOSE_STDIN:
                    proc.stdin.close()
        except (_Closed, OSError, ValueError):
            pass

    def _raw(self, stream: Stream, command: str, env_extra: dict[str, str]) -> None:
        proc = self._spawn(command, merge=True, env_extra=env_extra)
        assert proc.stdout and proc.stdin

        def feed() -> None:
            try:
                while True:
                    assert proc.stdin
                    proc.stdin.write(stream.read_some())
                    proc.stdin.flush()
            except (_Closed, OSError, ValueError):
                pass

        threading.Thread(target=feed, daemon=True).start()
        try:
            while True:
                data = os.read(proc.stdout.fileno(), SYNC_DATA_MAX)
                if not data:
                    break
                stream.write(data)
        except _Closed:
            self._hangup(proc)
        proc.wait()
        self.children.discard(proc.pid)

    def _exec(self, stream: Stream, name: str, command: str) -> None:
        self._raw(stream, command, {})

    def _tcp(self, stream: Stream, name: str, rest: str) -> None:
        port = int(rest.rsplit(":", 1)[-1])
        sock = socket.create_connection(("127.0.0.1", port))

        def down() -> None:
            try:
                while data := sock.recv(SYNC_DATA_MAX):
                    stream.write(data)
            except (_Closed, OSError):
                pass
            stream.close()

        threading.Thread(target=down, daemon=True).start()
        try:
            while True:
                sock.sendall(stream.read_some())
        except (_Closed, OSError):
            pass
        sock.close()

    # ---- sync: v1 -------------------------------------------------------------------
    def _sync(self, stream: Stream, name: str, rest: str) -> None:
        while True:
            req = stream.read_exact(8)
            cmd, length = req[:4], struct.unpack("<I", req[4:])[0]
            arg = stream.read_exact(length).decode("utf-8", "replace")
            if cmd == b"QUIT":
                return
            if cmd == b"STAT":
                try:
                    st = os.lstat(arg)  # real adbd answers STAT (v1) with lstat
                    stream.write(b"STAT" + struct.pack("<III", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime)))
                except OSError:
                    stream.write(b"STAT" + struct.pack("<III", 0, 0, 0))
            elif cmd == b"LIST":
                self._sync_list(stream, arg)
            elif cmd == b"SEND":
                self._sync_send(stream, arg)
            elif cmd == b"RECV":
                self._sync_recv(stream, arg)
            else:
                self._fail(stream, f"unknown sync command {cmd!r}")
                return

    @staticmethod
    def _fail(stream: Stream, msg: str) -> None:
        data = msg.encode()
        stream.write(b"FAIL" + struct.pack("<I", len(data)) + data)

    def _sync_list(self, stream: Stream, path: str) -> None:
        try:
            names = sorted(os.listdir(path))
        except OSError:
            names = []
        for n in [".", "..", *names]:
            try:
                st = os.lstat(os.path.join(path, n))
            except OSError:
                continue
            nb = n.encode()
            stream.write(b"DENT" + struct.pack("<IIII", st.st_mode, st.st_size & 0xFFFFFFFF, int(st.st_mtime), len(nb))
                         + nb)
        stream.write(b"DONE" + b"\0" * 16)

    def _sync_send(self, stream: Stream, spec: str) -> None:
        path, _, mode_s = spec.rpartition(",")
        if not path:
            path, mode_s = spec, str(stat.S_IFREG | 0o644)
        mode = int(mode_s) & 0o7777 if mode_s.isdigit() else 0o644
        tmp = f"{path}.adbd-{os.getpid()}-{threading.get_ident()}"
        error = None
        f = None
        try:
            os.makedirs(os.path.dirname(path) or "/", exist_ok=True)
            f = open(tmp, "wb")  # noqa: SIM115
        except OSError as e:
            error = f"cannot open {path}: {e.strerror}"
        try:
            while True:
                head = stream.read_exact(8)
                kind, n = head[:4], struct.unpack("<I", head[4:])[0]
                if kind == b"DATA":
                    data = stream.read_exact(n)
                    if f is not None:
                        f.write(data)
                elif kind == b"DONE":
                    break
                else:
                    error = f"bad sync SEND packet {kind!r}"
                    break
        except _Closed:
            if f is not None:
                f.close()
                os.unlink(tmp)
            raise
        if f is not None:
            f.close()
            if error is None:
                os.chmod(tmp, mode)
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        if error:
            self._fail(stream, error)
        else:
            stream.write(b"OKAY" + b"\0" * 4)

    def _sync_recv(self, stream: Stream, path: str) -> None:
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError as e:
            self._fail(stream, f"open failed: {e.strerror}")
            return
        with f:
            while chunk := f.read(SYNC_DATA_MAX):
                stream.write(b"DATA" + struct.pack("<I", len(chunk)) + chunk)
        stream.write(b"DONE" + b"\0" * 4)
