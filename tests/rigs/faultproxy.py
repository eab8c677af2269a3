"""A TCP proxy on loopback that injects link faults between the harness and a rig.

Faults (all switchable while connections are live):
- ``drop()``: cut every live connection now (a cable pulled mid-run).
- ``drop_after(n)``: cut when n more client->server bytes have passed (mid-push).
- ``gone = True``: new connections are accepted and closed at once (device gone).
- ``delay_s`` / ``rate_bps``: per-chunk latency and a bandwidth cap (slow link).
"""

from __future__ import annotations

import socket
import struct
import threading
import time

CHUNK = 64 * 1024


class FaultProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self.port: int = self._srv.getsockname()[1]
        self.gone = False
        self.delay_s = 0.0
        self.rate_bps: float | None = None
        self._budget: int | None = None
        self._lock = threading.Lock()
        self._live: list[tuple[socket.socket, socket.socket]] = []
        self.connections = 0
        self._closed = False
        threading.Thread(target=self._accept, name=f"faultproxy-{self.port}", daemon=True).start()

    # ---- faults ---------------------------------------------------------------------
    def drop(self) -> None:
        with self._lock:
            live, self._live = self._live, []
        for a, b in live:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def drop_after(self, nbytes: int) -> None:
        with self._lock:
            self._budget = nbytes

    def heal(self) -> None:
        """Back to a clean link."""
        self.gone = False
        self.delay_s = 0.0
        self.rate_bps = None
        with self._lock:
            self._budget = None

    def close(self) -> None:
        self._closed = True
        self.drop()
        self._srv.close()

    # ---- plumbing -------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._srv.accept()
            except OSError:
                return
            if self.gone:  # reset at once, like a host with nothing listening any more
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            for s in (client, upstream):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._live.append((client, upstream))
                self.connections += 1
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, upstream: bool) -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                if self.delay_s:
                    time.sleep(self.delay_s)
                if self.rate_bps:
                    time.sleep(len(data) / self.rate_bps)
                if upstream and self._spend(len(data)):
                    self.drop()
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def _spend(self, n: int) -> bool:
        """True when this chunk exhausts the drop_after budget."""
        with self._lock:
            if self._budget is None:
                return False
            self._budget -= n
            if self._budget <= 0:
                self._budget = None
                return True
            return False
