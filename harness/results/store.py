"""The results store: SQLite by default, any SQLAlchemy URL (PostgreSQL for shared farms).

Every finished cell is committed in one transaction with its metrics, raw samples and kept outputs,
the moment it finishes, so a crash loses at most the cell in flight.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, create_engine, delete, event, insert, make_url, select, text, update
from sqlalchemy.exc import ArgumentError, DatabaseError
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from harness.config.locations import default_store
from harness.errors import HarnessError
from harness.records import CellRecord
from harness.results import kept_outputs
from harness.results import schema as S
from harness.results.migrations import migrate
from harness.results.redact import redact


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
    """The URL as it may appear in messages and logs: never with its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url.split("@")[-1]


def schema_lock(conn: Connection) -> None:
    """Serialize schema creation across processes: on PostgreSQL, shards starting at once on a
    fresh database otherwise race in CREATE TABLE (duplicate pg_type rows). Held until commit."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(72616)"))


def pack_samples(values: Sequence[float] | np.ndarray) -> bytes:
    return np.asarray(values, dtype="<f8").tobytes()


def unpack_samples(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f8")


class Store:
    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.url = resolve_url(target)
        self.shown = shown_url(self.url)  # for messages: the password masked
        self._write_lock = threading.Lock()
        self.engine: Engine = self._make_engine(self.url)
        try:
            with self.engine.begin() as conn:
                schema_lock(conn)
                S.metadata.create_all(conn)
                migrate(conn, self.url)
        except DatabaseError as exc:  # server down, wrong host or credentials, unwritable file, not a database
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            raise HarnessError(f"cannot open results store {self.shown}: {reason}") from exc

    @staticmethod
    def _make_engine(url: str) -> Engine:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(engine, "connect")
            def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=30000")  # several processes may share a file
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
        with self._write_lock, self.engine.begin() as conn:
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
        with self._write_lock, self.engine.begin() as conn:
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
        """Commit one finished cell with its metrics and samples, atomically."""
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
