"""Waiting for a busy device: the options of run / ab / calibrate / sustained and the live line.

A device locked by another live orchestrator is waited for (up to ``--wait-timeout``) with one
line saying who holds it; ``--no-wait`` fails its cells at once, as `harness nightly` always
does (its preflight quarantines a busy device).
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.status import Status
from rich.text import Text

if TYPE_CHECKING:
    from harness.session.runner import Event

DEFAULT_WAIT_S = 3600.0  # how long an interactive command waits for a busy device (the lock itself has no default)


def wait_timeout_option() -> Any:
    return typer.Option(DEFAULT_WAIT_S, "--wait-timeout", min=0.0,
                        help="Seconds to wait for a device another run holds (0: fail at once).")


def no_wait_option() -> Any:
    return typer.Option(False, "--no-wait", help="A busy device fails its cells at once instead of waiting.")


def lock_wait_s(wait_timeout: float, no_wait: bool) -> float:
    return 0.0 if no_wait else wait_timeout


class WaitLine:
    """Prints once that a device is busy and keeps one live line (who holds it, how long we have
    waited) until the device is ours; then says how long the wait took."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._waiting: dict[str, str] = {}
        self._since: dict[str, float] = {}
        self._status: Status | None = None
        self._lock = threading.Lock()

    def on_event(self, e: Event) -> None:
        with self._lock:
            if e.kind == "device_waiting" and e.message:
                if e.device not in self._waiting:
                    self._since[e.device] = time.monotonic()
                    self.console.print(f"device {e.device} is busy, waiting for it: {e.message}", highlight=False, markup=False)
                self._waiting[e.device] = f"{e.device}: waiting, {e.message}"
                self._show()
            elif e.device in self._waiting:
                del self._waiting[e.device]
                waited = time.monotonic() - self._since.pop(e.device)
                self.console.print(f"device {e.device}: free after waiting {waited:.0f} s", highlight=False, markup=False)
                self._show()

    def _show(self) -> None:
        text = Text(" | ".join(self._waiting.values()))  # holder names are device text: never markup
        if text and self._status is None:
            self._status = Status(text, console=self.console)
            self._status.start()
        elif text and self._status is not None:
            self._status.update(text)
        elif self._status is not None:
            self._status.stop()
            self._status = None

    def close(self) -> None:
        with self._lock:
            self._waiting.clear()
            self._show()
