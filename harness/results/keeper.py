"""Keep every measured cell: commit it, retry a failed commit, else journal it and say how to finish.

A store fault (disk full, a file size limit, a lock held past the busy timeout, a database that went
away, a read-only or immutable file) is retried with backoff — a PostgreSQL restart is ridden out by
the engine's pre-ping reconnecting — and then, if the store still refuses, the cell goes to the
local journal (``results.journal``) and the keeper remembers the fault: every later cell of the run
goes to the journal at once, and the run stops cleanly with a :class:`StoreFault` (exit 2) that
names the store, the path, the cause and the ``--resume`` that finishes it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from harness.errors import HarnessError
from harness.records import CellRecord
from harness.results import journal
from harness.results.store import Store, StoreWriteError

#: seconds slept before each retry of a failed commit (a PostgreSQL restart takes a few)
BACKOFF_S: Sequence[float] = (0.5, 1.5, 4.0)


class StoreFault(HarnessError):
    """The store refused a cell after retries; measured cells are in the journal."""


def cause_of(exc: BaseException) -> str:
    """The driver's own words (\"database or disk is full\"), not SQLAlchemy's wrapping."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        return lines[0] if lines else type(exc.orig).__name__
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}" + (f" ({exc.filename})" if exc.filename else "")
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def store_path(store: Store) -> str:
    """The file behind a SQLite store (what a full disk or a read-only mount is about), else the URL."""
    url = make_url(store.url)
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database.removeprefix("file:").split("?")[0]
    return store.shown


class CellKeeper:
    def __init__(self, store: Store, run_id: str, backoff_s: Sequence[float] = BACKOFF_S) -> None:
        self.store, self.run_id, self.backoff_s = store, run_id, backoff_s
        self.fault: StoreFault | None = None
        self.stored = 0
        self.journaled: list[Path] = []
        self.kept: set[str] = set()  # cell keys stored or journaled
        self._lock = threading.Lock()

    def keep(self, rec: CellRecord) -> bool:
        """True: the cell is in the store; False: it is in the journal (the store failed)."""
        if self.fault is None:
            last: BaseException | None = None
            for delay in (0.0, *self.backoff_s):
                if self.fault is not None:  # another device's commit gave up meanwhile
                    break
                time.sleep(delay)
                try:
                    self.store.record_cell(self.run_id, rec)
                    with self._lock:
                        self.stored += 1
                        self.kept.add(rec.cell_key)
                    return True
                except (SQLAlchemyError, OSError, StoreWriteError) as exc:
                    last = exc
            if last is not None:
                self._fail(rec, last)
        self._journal(rec)
        return False

    def _fail(self, rec: CellRecord, exc: BaseException) -> None:
        with self._lock:
            if self.fault is None:
                tries = 1 + len(self.backoff_s)
                self.fault = StoreFault(
                    f"results store {self.store.shown} ({store_path(self.store)}) failed to store cell {rec.cell_key} "
                    f"after {tries} tries: {cause_of(exc)}")
                self.fault.__cause__ = exc

    def _journal(self, rec: CellRecord) -> None:
        try:
            path = journal.write(self.store.url, self.run_id, rec)
        except OSError as exc:
            raise HarnessError(f"{self.fault}; the cell could not be kept in a journal either: {exc}") from exc
        with self._lock:
            self.journaled.append(path)
            self.kept.add(rec.cell_key)

    def stop_message(self, not_run: int) -> str:
        """What the user reads when the run stopped for the store: what happened, where things are, what to do."""
        assert self.fault is not None
        where = ", ".join(sorted({str(p.parent) for p in self.journaled})) or "(none)"
        return (f"{self.fault}. The run stopped: {self.stored} cell(s) stored, {len(self.journaled)} measured cell(s) "
                f"kept in the journal {where}, {not_run} cell(s) not run. Fix the store (free space, a lock holder, "
                f"the server, file permissions), then finish with `harness run --resume {self.run_id}"
                f"{_store_option(self.store)}`: it stores the journal first, then runs the rest")


def _store_option(store: Store) -> str:
    return f" --store {store.shown}" if "***" not in store.shown else " --store <URL>"


def replay(store: Store, run_id: str) -> int:
    """Store a run's journaled cells (a cell already stored is not stored twice); how many were stored."""
    done = store.done_cell_keys(run_id)
    n = 0
    for path, rec in journal.entries(store.url, run_id):
        if rec.cell_key not in done:
            store.record_cell(run_id, rec)
            done.add(rec.cell_key)
            n += 1
        journal.discard(path)
    return n
