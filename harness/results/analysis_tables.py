"""Tables the analysis side keeps in the results store: alerts and calibrated noise floors.

They live on the same SQLAlchemy ``metadata`` as the core schema (create_all picks them up)
and only add tables, so schema_version stays 1. Each accessor creates them on first use so a
store opened before this module was imported still works.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text, UniqueConstraint, delete, insert, select, update

from harness.analysis.alerts import Alert
from harness.results.schema import metadata
from harness.results.store import Store, schema_lock, utcnow

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("workload", String(128), nullable=False),
    Column("precision", String(32), nullable=False),
    Column("backend", String(64), nullable=False),
    Column("device_fingerprint", String(64), nullable=False),
    Column("metric", String(128), nullable=False),
    Column("device", String(128), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("prev_run_id", String(64)),
    Column("build_id", String(128)),
    Column("prev_build_id", String(128)),
    Column("at", String(40)),
    Column("before", Float),
    Column("after", Float),
    Column("ratio", Float),
    Column("p", Float),
    Column("state", String(16), nullable=False),
    Column("note", Text),
    Column("by_user", Boolean, nullable=False, default=False),
    Column("updated_at", String(40)),
    UniqueConstraint("workload", "precision", "backend", "device_fingerprint", "metric", "run_id",
                     name="uq_alerts_series_run"),
)

noise_floors = Table(
    "noise_floors",
    metadata,
    Column("device_fingerprint", String(64), primary_key=True),
    Column("workload", String(128), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("device", String(128)),
    Column("floor", Float, nullable=False),  # 99th percentile of |log ratio| between A/A runs
    Column("n_pairs", Integer, nullable=False),
    Column("run_ids_json", Text),
    Column("created_at", String(40), nullable=False),
)

_ALERT_FIELDS = [f.name for f in fields(Alert)]


def _ensure(store: Store) -> None:
    with store.engine.begin() as conn:
        schema_lock(conn)  # several shards may create these at once on PostgreSQL
        metadata.create_all(conn, tables=[alerts, noise_floors])


# ---------------------------------------------------------------------------- alerts
def load_alerts(store: Store) -> list[Alert]:
    _ensure(store)
    with store.engine.connect() as conn:
        rows = conn.execute(select(alerts).order_by(alerts.c.at, alerts.c.id)).mappings().all()
    return [Alert(**{k: r[k] for k in _ALERT_FIELDS}) for r in rows]


def alert_ids(store: Store) -> dict[tuple[str, ...], int]:
    _ensure(store)
    c = alerts.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.id, c.workload, c.precision, c.backend, c.device_fingerprint, c.metric,
                                   c.run_id)).all()
    return {tuple(r[1:]): int(r[0]) for r in rows}


def save_alerts(store: Store, items: Iterable[Alert]) -> None:
    """Upsert by (series, run): insert new alerts, update state/note of known ones."""
    _ensure(store)
    known = alert_ids(store)
    now = utcnow()
    with store.engine.begin() as conn:
        for a in items:
            values = {**asdict(a), "updated_at": now}
            if a.key in known:
                conn.execute(update(alerts).where(alerts.c.id == known[a.key]).values(**values))
            else:
                conn.execute(insert(alerts).values(**values))


def alert_by_id(store: Store, alert_id: int) -> Alert | None:
    _ensure(store)
    with store.engine.connect() as conn:
        r = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    return None if r is None else Alert(**{k: r[k] for k in _ALERT_FIELDS})


def clear_alerts(store: Store) -> None:
    _ensure(store)
    with store.engine.begin() as conn:
        conn.execute(delete(alerts))


# ---------------------------------------------------------------------------- noise floors
def save_noise_floors(store: Store, floors: Iterable[Mapping[str, Any]]) -> int:
    """floors: dicts with device_fingerprint, workload, metric, device, floor, n_pairs, run_ids."""
    _ensure(store)
    now = utcnow()
    n = 0
    with store.engine.begin() as conn:
        for f in floors:
            key = (noise_floors.c.device_fingerprint == f["device_fingerprint"]) & (
                noise_floors.c.workload == f["workload"]) & (noise_floors.c.metric == f["metric"])
            conn.execute(delete(noise_floors).where(key))
            conn.execute(insert(noise_floors).values(
                device_fingerprint=f["device_fingerprint"], workload=f["workload"], metric=f["metric"],
                device=f.get("device"), floor=float(f["floor"]), n_pairs=int(f["n_pairs"]),
                run_ids_json=json.dumps(list(f.get("run_ids") or [])), created_at=now))
            n += 1
    return n


def load_noise_floors(store: Store) -> list[dict[str, Any]]:
    _ensure(store)
    with store.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(noise_floors)).mappings()]


def calibration_map(store: Store) -> dict[tuple[str, str, str], float]:
    """(device_fingerprint, workload, metric) -> noise floor, the form compare takes."""
    return {(r["device_fingerprint"], r["workload"], r["metric"]): float(r["floor"]) for r in load_noise_floors(store)}
