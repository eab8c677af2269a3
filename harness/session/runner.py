"""Run a plan: one worker thread per physical device, cells on one device one at a time (two
profiles of one machine one after the other).

Every finished cell is committed to the store the moment it finishes. A device that
cannot be opened gets its cells recorded as failed with the reason (failures are data);
a device that fails ``max_consecutive_failures`` cells in a row is quarantined for the
rest of the run and its remaining cells are recorded as skipped with that reason.
Ctrl-C stops every worker after killing what runs on the devices; unfinished cells stay
missing, so ``--resume`` runs exactly them.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from harness.config.models import DeviceProfile
from harness.errors import HarnessError
from harness.plan import Cell
from harness.records import CellRecord
from harness.results.keeper import CellKeeper
from harness.results.store import Store
from harness.session.device_session import DeviceSession, RunContext, crash_result
from harness.transport.base import Transport
from harness.transport.factory import open_transport
from harness.transport.lock import DeviceBusy
from harness.transport.physical import physical_key


@dataclass
class Event:
    kind: str  # device_start / device_waiting / device_note / cell_start / cell_done / device_error / device_done
    device: str
    cell: Cell | None = None
    record: CellRecord | None = None
    message: str | None = None
    total: int = 0


@dataclass
class DeviceStats:
    cells: int = 0
    bytes_pushed: int = 0
    files_pushed: int = 0
    files_cached: int = 0
    wall_s: float = 0.0
    measure_s: float = 0.0
    quarantined: str | None = None
    error: str | None = None


@dataclass
class RunOutcome:
    run_id: str
    statuses: Counter[str] = field(default_factory=Counter)
    devices: dict[str, DeviceStats] = field(default_factory=dict)
    wall_s: float = 0.0
    interrupted: bool = False

    def summary(self) -> dict[str, Any]:
        return {
            "statuses": dict(self.statuses),
            "wall_s": self.wall_s,
            "interrupted": self.interrupted,
            "bytes_pushed": sum(d.bytes_pushed for d in self.devices.values()),
            "devices": {name: vars(d) for name, d in self.devices.items()},
        }


class Runner:
    def __init__(
        self,
        store: Store,
        ctx: RunContext,
        profiles: dict[str, DeviceProfile],
        *,
        on_event: Callable[[Event], None] | None = None,
        max_consecutive_failures: int | None = None,
        transport_factory: Callable[[DeviceProfile], Transport] = open_transport,
        keeper: CellKeeper | None = None,
    ) -> None:
        self.store = store
        self.ctx = ctx
        self.profiles = profiles
        self.on_event = on_event or (lambda e: None)
        self.max_consecutive_failures = max_consecutive_failures
        self.transport_factory = transport_factory
        self._cancel = threading.Event()
        self._sessions: dict[str, DeviceSession] = {}
        self._event_lock = threading.Lock()
        self.keeper = keeper or CellKeeper(store, ctx.run_id)

    def _emit(self, event: Event) -> None:
        with self._event_lock:
            self.on_event(event)

    def execute(self, cells: Sequence[Cell]) -> RunOutcome:
        outcome = RunOutcome(self.ctx.run_id)
        by_device: dict[str, list[Cell]] = {}
        for cell in cells:
            by_device.setdefault(cell.device, []).append(cell)
        # one worker per physical device: two profiles of one machine run one after the other
        by_machine: dict[str, list[tuple[str, list[Cell]]]] = {}
        for dev, dev_cells in by_device.items():
            by_machine.setdefault(physical_key(self.profiles[dev]), []).append((dev, dev_cells))
        t0 = time.monotonic()
        pool = ThreadPoolExecutor(max_workers=max(1, len(by_machine)), thread_name_prefix="device")
        futures = [pool.submit(self._machine_worker, views, outcome) for views in by_machine.values()]
        try:
            while True:
                done, pending = wait(futures, timeout=0.5)
                if not pending:
                    break
        except KeyboardInterrupt:
            outcome.interrupted = True
            self._cancel.set()
            for session in list(self._sessions.values()):
                session.abort()
            wait(futures, timeout=30)
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            outcome.wall_s = time.monotonic() - t0
        for f in futures:
            f.result()  # re-raise a bug in a worker instead of hiding it
        return outcome

    def _machine_worker(self, views: list[tuple[str, list[Cell]]], outcome: RunOutcome) -> None:
        """The profiles of one machine, one after the other (each holds the machine's lock in turn)."""
        for device, cells in views:
            if self._cancel.is_set():
                return
            self._device_worker(device, cells, outcome)

    def _device_worker(self, device: str, cells: list[Cell], outcome: RunOutcome) -> None:
        stats = outcome.devices.setdefault(device, DeviceStats())
        profile = self.profiles[device]
        session = DeviceSession(profile, self.ctx, self.transport_factory, on_lock_wait=self._lock_waiter(device))
        self._sessions[device] = session
        self._emit(Event("device_start", device, total=len(cells)))
        t0 = time.monotonic()
        try:
            try:
                session.open()
            except Exception as exc:  # noqa: BLE001 - whatever stops a device fails its cells, not the run
                # One more try for a flaky link (not for a busy device: it was waited for already),
                # then every cell is recorded with the reason.
                _close_quietly(session)
                if self._cancel.is_set():
                    return  # Ctrl-C (also while waiting for a busy device): the cells stay missing for --resume
                try:
                    if isinstance(exc, DeviceBusy):
                        raise exc
                    time.sleep(1.0)
                    session.open()
                except Exception as exc2:  # noqa: BLE001
                    why = str(exc2) if isinstance(exc2, HarnessError) else f"{type(exc2).__name__}: {exc2}"
                    stats.error = f"device {device} unavailable: {why or exc}"
                    self._emit(Event("device_error", device, message=stats.error))
                    extra = {} if isinstance(exc2, HarnessError) else {"result": crash_result(exc2)}
                    for cell in cells:
                        self._commit(cell, session._record(cell.key, cell.workload, cell.precision, cell.backend,
                                                           "failed", error=stats.error, **extra), outcome)
                    return
            self._emit_notes(device, session)
            streak = 0
            for i, cell in enumerate(cells):
                if self._cancel.is_set():
                    return
                self._emit(Event("cell_start", device, cell=cell))
                rec = session.run_cell(cell.device, cell.workload, cell.precision, cell.backend, cell.key,
                                       last=i + 1 == len(cells))
                self._emit_notes(device, session)  # a reconnect may have ended an orphan too
                if self._cancel.is_set() and rec.status in ("failed", "timeout"):
                    return  # killed by Ctrl-C: leave it missing so --resume reruns it
                self._commit(cell, rec, outcome)
                streak = streak + 1 if rec.status in ("failed", "timeout") else 0
                if self.max_consecutive_failures and streak >= self.max_consecutive_failures:
                    stats.quarantined = (
                        f"quarantined after {streak} consecutive failed cells; last: {rec.error}"
                    )
                    self._emit(Event("device_error", device, message=stats.quarantined))
                    for rest in cells[i + 1 :]:
                        self._commit(rest, session._record(rest.key, rest.workload, rest.precision, rest.backend,
                                                           "skipped", error=stats.quarantined), outcome)
                    return
        finally:
            _close_quietly(session)
            stats.bytes_pushed += session.push_stats["bytes_pushed"]
            stats.files_pushed += session.push_stats["files_pushed"]
            stats.files_cached += session.push_stats["files_cached"]
            stats.wall_s = time.monotonic() - t0
            self._emit(Event("device_done", device))

    def _lock_waiter(self, device: str) -> Callable[[DeviceBusy, float], None]:
        def on_wait(busy: DeviceBusy, waited_s: float) -> None:
            self._emit(Event("device_waiting", device, message=busy.waiting_line(waited_s, self.ctx.lock_wait_s)))

        return on_wait

    def _emit_notes(self, device: str, session: DeviceSession) -> None:
        notes, session.notes = session.notes, []
        for note in notes:
            self._emit(Event("device_note", device, message=note))

    def _commit(self, cell: Cell, rec: CellRecord, outcome: RunOutcome) -> None:
        """Store a finished cell at once (a crash later loses nothing measured). A store that fails
        even after retries: the cell goes to the journal and the run stops after the cells in flight."""
        self.ctx.fp32.annotate(rec)  # slower_than_fp32: needs its fp32 sibling
        if not self.keeper.keep(rec):
            self._cancel.set()
        stats = outcome.devices[cell.device]
        stats.cells += 1
        stats.measure_s += rec.measure_s or 0.0
        outcome.statuses[rec.status] += 1
        self._emit(Event("cell_done", cell.device, cell=cell, record=rec))


def _close_quietly(session: DeviceSession) -> None:
    """Closing a broken connection must not turn into the run's failure."""
    try:
        session.close()
    except Exception:  # noqa: BLE001 - the device is being given up on anyway
        pass
