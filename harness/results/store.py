"""The results store: SQLite by default, any SQLAlchemy URL (PostgreSQL for shared farms).

Every finished cell is committed in one transaction with its metrics, raw samples and kept outputs,
the moment it finishes, so a crash loses at most the cell in flight.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, make_url, select, text, update
from sqlalchemy.exc import DatabaseError, DBAPIError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from harness.config.locations import default_store
from harness.errors import HarnessError
from harness.records import CellRecord
from harness.results import kept_outputs
from harness.results import schema as S
from harness.results.migrations import current_version, migrate
from harness.results.redact import redact, redact_text
from harness.results.storable import storable_record


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def resolve_url(target: str | os.PathLike[str] | None) -> str:
    """A path or SQLAlchemy URL -> URL. Default: $HARNESS_STORE, else results/harness.db in the
    harness home (the folder that holds devices/ and workloads/)."""
    target = target or default_store()
    text = str(target)
    if "://" in text:
        return text
    path = Path(text).expanduser().resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"results store {path}: cannot create its folder: {exc.strerror or exc}") from exc
    return f"sqlite:///{path}"


def shown_url(url: str) -> str:
    """The URL as it may appear in messages and logs: never with its password (userinfo, an
    unescaped ``@`` in it, ``?password=``)."""
    return redact_text(url)


def schema_lock(conn: Connection) -> None:
    """Serialize schema creation across processes: on PostgreSQL, shards starting at once on a
    fresh database otherwise race in CREATE TABLE (duplicate pg_type rows). Held until commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(72616)"))


def pack_samples(values: Sequence[float] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()


def unpack_samples(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8")


class StoreWriteError(HarnessError):
    """The store refused a write (a run row, a status): names the store, its path and the cause."""


def busy_timeout_s() -> float:
    """How long a SQLite write waits for another process's lock ($HARNESS_STORE_BUSY_TIMEOUT_S, else 30 s)."""
    try:
        return max(0.0, float(os.environ.get("HARNESS_STORE_BUSY_TIMEOUT_S") or 30))
    except ValueError:
        return 30.0


def _sqlite_file(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database.removeprefix("file:").split("?")[0])


def _unwritable(path: Path) -> str | None:
    """Why a SQLite store cannot be written here (None: it can), for opening it read-only."""
    if not path.is_file():
        return None
    if not os.access(path, os.W_OK):
        return "the file is read-only or immutable"
    if not os.access(path.parent, os.W_OK):
        return "its folder is read-only"
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return "it is on read-only media"
    except OSError:
        pass
    return None


class Store:
    """``read_only``: opened without write access (a store on read-only media, an immutable file);
    reading works, writing raises a StoreWriteError saying so."""

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.url = resolve_url(target)
        self.shown = shown_url(self.url)  # for messages: the password masked
        self._write_lock = threading.Lock()
        self.read_only: str | None = None  # why, when the store was opened read-only
        path = _sqlite_file(self.url)
        why = _unwritable(path) if path is not None else None
        if path is not None and why is not None:
            self._open_read_only(path, why)
            return
        self.engine: Engine = self._make_engine(self.url)
        try:
            with self.engine.begin() as conn:
                schema_lock(conn)
                S.metadata.create_all(conn)
                migrate(conn, self.url)
        except DatabaseError as exc:  # server down, wrong host or credentials, unwritable file, not a database
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            if path is not None and path.is_file() and "readonly" in reason.replace("-", "").lower():
                self.engine.dispose()
                self._open_read_only(path, reason)
                return
            raise HarnessError(f"cannot open results store {self.shown}: {reason}") from exc

    def _open_read_only(self, path: Path, why: str) -> None:
        """Open a SQLite store that cannot be written: read-only, immutable when not even SQLite's
        shared-memory file can be made beside it."""
        immutable = "&immutable=1" if not os.access(path.parent, os.W_OK) or "media" in why else ""
        self.read_only = why
        uri = f"file:{quote(str(path))}?mode=ro{immutable}"  # SQLite's URI: '#', '?', '%' in a path quoted
        self.engine = self._make_engine("sqlite://", read_only=True, creator=lambda: sqlite3.connect(
            uri, uri=True, check_same_thread=False, timeout=busy_timeout_s()))
        try:
            with self.engine.connect() as conn:
                version = current_version(conn)
        except DatabaseError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise HarnessError(f"cannot open results store {self.shown} read-only ({why}): {reason}") from exc
        if version is None or version > S.SCHEMA_VERSION:
            raise HarnessError(f"results store {self.shown} is read-only ({why}) and at schema_version {version}; "
                               f"this harness reads {S.SCHEMA_VERSION}: open a writable copy to migrate it")

    def _writable(self, what: str) -> None:
        if self.read_only:
            raise StoreWriteError(f"results store {self.shown} is read-only ({self.read_only}): cannot {what}; "
                                  f"copy it somewhere writable or fix its permissions")

    @contextmanager
    def writing(self, what: str) -> Iterator[Connection]:
        """One write transaction; a refusal becomes a StoreWriteError naming store, path and cause."""
        self._writable(what)
        try:
            with self._write_lock, self.engine.begin() as conn:
                yield conn
        except (DBAPIError, OSError) as exc:
            cause = str(exc.orig).strip().splitlines()[0] if isinstance(exc, DBAPIError) and exc.orig is not None \
                else str(exc)
            path = _sqlite_file(self.url)
            raise StoreWriteError(f"results store {self.shown}{f' ({path})' if path else ''}: cannot {what}: "
                                  f"{cause}") from exc

    @staticmethod
    def _make_engine(url: str, read_only: bool = False, creator: Callable[[], Any] | None = None) -> Engine:
        if url.startswith("sqlite"):
            busy = busy_timeout_s()
            engine = create_engine(url, creator=creator) if creator is not None else create_engine(
                url, connect_args={"check_same_thread": False, "timeout": busy})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
                cur = dbapi_conn.cursor()
                if not read_only:
                    cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute(f"PRAGMA busy_timeout={int(busy * 1000)}")  # several processes may share a file
                cur.close()

            return engine
        if not url.startswith("postgresql"):
            raise HarnessError(
                f"results store {shown_url(url)}: unsupported database; the store is built and tested on SQLite "
                f"(a path or sqlite:///PATH) and PostgreSQL (postgresql+psycopg://USER@HOST/DB)"
            )
        try:
            return create_engine(url, pool_pre_ping=True)
        except ModuleNotFoundError as exc:
            raise HarnessError(
                f"cannot open results store {shown_url(url)}: {exc}; fix: pip install 'harness[postgres]' (psycopg 3) "
                f"and name the driver in the URL: postgresql+psycopg://..."
            ) from exc
        except Exception as exc:  # malformed URL
            raise HarnessError(f"cannot open results store {shown_url(url)}: {exc}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # ---- runs -----------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        plan: list[dict[str, Any]],
        *,
        build_id: str | None = None,
        kind: str = "run",
        argv: Sequence[str] | None = None,
        labels: dict[str, Any] | None = None,
        host: str | None = None,
        harness_version: str | None = None,
    ) -> None:
        with self.writing(f"create run {run_id}") as conn:
            conn.execute(
                insert(S.runs).values(
                    run_id=run_id,
                    created_at=utcnow(),
                    status="running",
                    kind=kind,
                    build_id=build_id,
                    host=host,
                    harness_version=harness_version,
                    argv_json=json.dumps(redact(list(argv or []))),  # --store URL passwords never stored
                    plan_json=json.dumps(plan),
                    labels_json=json.dumps(redact(labels or {})),
                )
            )

    def update_run(self, run_id: str, **values: Any) -> None:
        for key in ("summary", "labels", "plan"):
            if key in values:
                values[f"{key}_json"] = json.dumps(redact(values.pop(key)) if key == "labels" else values.pop(key))
        with self.writing(f"update run {run_id}") as conn:
            conn.execute(update(S.runs).where(S.runs.c.run_id == run_id).values(**values))

    def finish_run(self, run_id: str, status: str = "finished", summary: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "finished_at": utcnow()}
        if summary is not None:
            values["summary"] = summary
        self.update_run(run_id, **values)

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(S.runs).where(S.runs.c.run_id == run_id)).mappings().first()
        if row is None:
            raise HarnessError(f"no run {run_id!r} in {self.shown}")
        return _decode_run(dict(row))

    def list_runs(self, limit: int | None = None) -> list[dict[str, Any]]:
        q = select(S.runs).order_by(S.runs.c.created_at.desc())
        if limit:
            q = q.limit(limit)
        with self.engine.connect() as conn:
            return [_decode_run(dict(r)) for r in conn.execute(q).mappings()]

    # ---- cells ----------------------------------------------------------------------
    def record_cell(self, run_id: str, rec: CellRecord, *, replace: bool = False) -> int:
        """Commit one finished cell with its metrics and samples, atomically (its text made storable first)."""
        self._writable(f"store cell {rec.cell_key}")
        rec = storable_record(rec)
        row = {
            "run_id": run_id,
            "cell_key": rec.cell_key,
            "device": rec.device,
            "workload": rec.workload,
            "precision": rec.precision,
            "backend": rec.backend,
            "status": rec.status,
            "error": rec.error,
            "transport": rec.transport,
            "device_fingerprint": rec.device_fingerprint,
            "fingerprint_json": json.dumps(rec.fingerprint, sort_keys=True, default=str),
            "build_id": rec.build_id,
            "artifact_sha256": rec.artifact_sha256,
            "ort_version": rec.ort_version,
            "ep_requested": rec.ep_requested,
            "ep_used": rec.ep_used,
            "ep_fallback": rec.ep_fallback,
            "started_at": rec.started_at,
            "finished_at": rec.finished_at or utcnow(),
            "wall_s": rec.wall_s,
            "measure_s": rec.measure_s,
            "attempts": rec.attempts,
            "result_json": json.dumps(rec.result, default=str),
        }
        with self._write_lock, self.engine.begin() as conn:
            if replace:
                old = conn.execute(
                    select(S.cells.c.id).where(S.cells.c.run_id == run_id, S.cells.c.cell_key == rec.cell_key)
                ).scalar()
                if old is not None:
                    kept_outputs.delete_outputs(conn, old)
                    conn.execute(delete(S.samples).where(S.samples.c.cell_id == old))
                    conn.execute(delete(S.metrics).where(S.metrics.c.cell_id == old))
                    conn.execute(delete(S.cells).where(S.cells.c.id == old))
            try:
                inserted = conn.execute(insert(S.cells).values(**row)).inserted_primary_key
                assert inserted is not None
                cell_id = inserted[0]
            except SAIntegrityError as exc:
                raise HarnessError(f"cell {rec.cell_key} already recorded in run {run_id}") from exc
            if rec.metrics:
                conn.execute(
                    insert(S.metrics),
                    [
                        {
                            "cell_id": cell_id,
                            "metric": m.name,
                            "value": None if m.value is None else float(m.value),
                            "unit": m.unit,
                            "kind": m.kind,
                            "method": m.method,
                        }
                        for m in rec.metrics
                    ],
                )
            if rec.samples:
                conn.execute(
                    insert(S.samples),
                    [
                        {"cell_id": cell_id, "metric": name, "n": int(len(v)), "data": pack_samples(v)}
                        for name, v in rec.samples.items()
                    ],
                )
            if rec.outputs:
                kept_outputs.insert_outputs(conn, cell_id, rec.outputs, rec.inputs_sha256)
        return int(cell_id)

    def done_cell_keys(self, run_id: str) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(S.cells.c.cell_key).where(S.cells.c.run_id == run_id)).scalars())

    def cells_frame(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """One row per cell, joined with its run's created_at and build."""
        q = select(S.cells, S.runs.c.created_at.label("run_created_at")).join(
            S.runs, S.runs.c.run_id == S.cells.c.run_id
        )
        if run_ids is not None:
            q = q.where(S.cells.c.run_id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).mappings().all(), columns=[*S.cells.c.keys(), "run_created_at"])

    CELL_INDEX = ("id", "run_id", "run_created_at", "device", "workload", "precision", "backend", "status",
                  "device_fingerprint")

    def cell_index(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Each cell's identity, status and run date (CELL_INDEX): a cheap scan of a long history."""
        c = S.cells.c
        q = select(c.id, c.run_id, S.runs.c.created_at.label("run_created_at"), c.device, c.workload, c.precision,
                   c.backend, c.status, c.device_fingerprint).join(S.runs, S.runs.c.run_id == c.run_id)
        if run_ids is not None:
            q = q.where(c.run_id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            return pd.DataFrame(conn.execute(q).all(), columns=list(self.CELL_INDEX))

    def metrics_frame(self, run_ids: Iterable[str] | None = None) -> pd.DataFrame:
        """Long frame: one row per (cell, metric) with the cell's identity columns."""
        c = S.cells.c
        q = (
            select(
                c.id.label("cell_id"),
                c.run_id,
                S.runs.c.created_at.label("run_created_at"),
                c.cell_key,
                c.device,
                c.workload,
                c.precision,
                c.backend,
                c.status,
                c.device_fingerprint,
                c.build_id,
                c.artifact_sha256,
                S.metrics.c.metric,
                S.metrics.c.value,
                S.metrics.c.unit,
                S.metrics.c.kind,
                S.metrics.c.method,
            )
            .join(S.metrics, S.metrics.c.cell_id == c.id)
            .join(S.runs, S.runs.c.run_id == c.run_id)
        )
        if run_ids is not None:
            q = q.where(c.run_id.in_(list(run_ids)))
        with self.engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return pd.DataFrame(rows, columns=[col.name for col in q.selected_columns])

    def samples_for(self, cell_ids: Iterable[int], metric: str | None = None) -> dict[tuple[int, str], np.ndarray]:
        ids = list(cell_ids)
        out: dict[tuple[int, str], np.ndarray] = {}
        for start in range(0, len(ids), 500):  # keep IN lists bounded
            q = select(S.samples).where(S.samples.c.cell_id.in_(ids[start : start + 500]))
            if metric:
                q = q.where(S.samples.c.metric == metric)
            with self.engine.connect() as conn:
                for r in conn.execute(q):
                    out[(int(r.cell_id), r.metric)] = unpack_samples(r.data)
        return out


def _decode_run(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("argv", "plan", "summary", "labels"):
        raw = row.pop(f"{key}_json", None)
        row[key] = json.loads(raw) if raw else ([] if key in ("argv", "plan") else {})
    row["argv"], row["labels"] = redact(row["argv"]), redact(row["labels"])  # stores written before redaction
    return row
