"""Bounded output from a device: what a command prints is kept within a cap, on every transport.

A runner can print a gigabyte (a loop gone wrong, a hostile device); the host used to keep all of
it in memory, several times over once decoded. Each stream is now read in chunks as it comes and
kept as its head (where protocol lines such as the probe line come) and its tail (where a crash
says why), with a line in between saying how much was dropped. It is decoded with replacement,
so a native runner crashing with non-UTF-8 output still gives its message.
"""

from __future__ import annotations

#: bytes kept from the start of one stream
HEAD_BYTES = 1 << 20
#: bytes kept from the end of one stream
TAIL_BYTES = 256 << 10
#: read size of the pumps that feed a CappedStream
CHUNK = 64 << 10


class CappedStream:
    """One output stream, its memory bounded by ``head + tail`` bytes however much arrives."""

    def __init__(self, head: int = HEAD_BYTES, tail: int = TAIL_BYTES) -> None:
        self.head_limit, self.tail_limit = head, tail
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            if len(self._tail) > self.tail_limit:
                del self._tail[: len(self._tail) - self.tail_limit]

    @property
    def dropped(self) -> int:
        return self.total - len(self._head) - len(self._tail)

    def text(self) -> str:
        head = self._head.decode("utf-8", "replace")
        if not self._tail:
            return head
        gap = f"\n[... {self.dropped} bytes of output dropped: over the {self.head_limit + self.tail_limit} " \
              f"byte cap ...]\n" if self.dropped else ""
        return head + gap + self._tail.decode("utf-8", "replace")


def capped_text(data: bytes) -> str:
    """Bytes already in hand, kept and decoded the same way."""
    stream = CappedStream()
    stream.write(data)
    return stream.text()
