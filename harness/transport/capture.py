"""Bounded output from a device: what a command prints is kept within a cap, on every transport.

A runner can print a gigabyte (a loop gone wrong, a hostile device); the host used to keep all of
it in memory, several times over once decoded. Each stream is now read in chunks as it comes and
kept as its head (where protocol lines such as the probe line come) and its tail (where a crash
says why), with a line in between saying how much was dropped. It is decoded with replacement,
so a native runner crashing with non-UTF-8 output still gives its message.

A runner's streams are also written to files on the host (``OutputFiles``: the cell's folder of
the run's logs), capped the same way: the head is streamed to the file as it arrives, the tail
(bounded, in memory) is appended when the stream ends, after a line saying what was dropped. So
the file is never larger than ``head + tail`` plus that line, the host's memory holds at most
``head + tail`` per stream, and a person can read the whole capped output after the run. A file
that cannot be written (a full disk) stops being written; the command and its message go on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO

log = logging.getLogger(__name__)

#: bytes kept from the start of one stream
HEAD_BYTES = 1 << 20
#: bytes kept from the end of one stream
TAIL_BYTES = 256 << 10
#: read size of the pumps that feed a CappedStream
CHUNK = 64 << 10


@dataclass(frozen=True)
class OutputFiles:
    """Where one command's stdout and stderr are kept on the host."""

    stdout: Path
    stderr: Path

    @classmethod
    def in_folder(cls, folder: Path, stem: str) -> OutputFiles:
        return cls(folder / f"{stem}.stdout.log", folder / f"{stem}.stderr.log")

    def describe(self) -> str:
        return f"full output (capped): {self.stdout} and {self.stderr}"


class CappedStream:
    """One output stream, its memory bounded by ``head + tail`` bytes however much arrives; with a
    ``file``, written there capped the same way (see the module doc)."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES, file: Path | None = None) -> None:
        self.head_limit, self.tail_limit = head, tail
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None
        self.path: Path | None = None
        if file is not None:
            self.attach(file)

    def attach(self, file: Path) -> None:
        """Keep this stream in ``file`` from now on, what already came included (a runner started
        before its cell was known prints before its files are named)."""
        with self._lock:
            try:
                file.parent.mkdir(parents=True, exist_ok=True)
                self._file = open(file, "wb")  # noqa: SIM115 - closed by close()
                self._file.write(self._head)
            except OSError as exc:
                self._file_failed(exc)
                return
            self.path = file

    def write(self, data: bytes) -> None:
        with self._lock:
            self.total += len(data)
            room = self.head_limit - len(self._head)
            if room > 0:
                self._head += data[:room]
                self._to_file(data[:room])
                data = data[room:]
            if data:
                self._tail += data
                if len(self._tail) > self.tail_limit:
                    del self._tail[: len(self._tail) - self.tail_limit]

    def close(self) -> None:
        """The stream ended: the file gets the gap line and the tail, and is closed."""
        with self._lock:
            if self._file is None:
                return
            self._to_file(self._gap().encode() + bytes(self._tail))
            f, self._file = self._file, None
            if f is not None:
                try:
                    f.close()
                except OSError as exc:
                    self._file_failed(exc)

    def _to_file(self, data: bytes) -> None:
        if self._file is None or not data:
            return
        try:
            self._file.write(data)
        except OSError as exc:
            self._file_failed(exc)

    def _file_failed(self, exc: OSError) -> None:
        log.warning("cannot keep a device's output in %s: %s", getattr(exc, "filename", None) or self.path, exc)
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass

    @property
    def dropped(self) -> int:
        return self.total - len(self._head) - len(self._tail)

    def _gap(self) -> str:
        if not self.dropped:
            return ""
        return f"\n[... {self.dropped} bytes of output dropped: over the {self.head_limit + self.tail_limit} " \
               f"byte cap ...]\n"

    def text(self) -> str:
        with self._lock:  # the head and tail decoded apart: a character cut at the gap is replaced, not merged
            return self._head.decode("utf-8", "replace") + self._gap() + self._tail.decode("utf-8", "replace")


def capped_text(data: bytes) -> str:
    """Bytes already in hand, kept and decoded the same way."""
    stream = CappedStream()
    stream.write(data)
    return stream.text()


def streams(files: OutputFiles | None) -> tuple[CappedStream, CappedStream]:
    """The stdout and stderr streams of one command, kept in ``files`` when given."""
    if files is None:
        return CappedStream(), CappedStream()
    return CappedStream(file=files.stdout), CappedStream(file=files.stderr)
