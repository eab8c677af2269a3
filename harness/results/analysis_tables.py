"""Side tables the read side keeps in the results store: regression alerts and calibrated run noise.

They live on the same SQLAlchemy ``metadata`` as the core schema (create_all picks them up when this
module is imported before a store opens) and only add tables, so schema_version stays as it is. A
store opened earlier gets them on its first use here, once per engine, not on every read.

``run_noise`` replaces the old ``noise_floors`` table (a 99th percentile of |log ratio| over 3 runs,
too low to trust); an old store keeps that table, unread.
"""

from __future__ import annotations

import json
import threading
import weakref
from collections.abc import Iterable
from dataclasses import asdict, fields

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    insert,
    inspect,
    select,
    text,
    update,
)

from harness.records import Alert, CalibratedNoise
from harness.results.schema import metadata
from harness.results.store import Store, schema_lock, utcnow

#: one alert per (series, run); a series is keyed by profile name and fingerprint (Alert.series_key)
ALERT_KEY = ("workload", "precision", "backend", "device_fingerprint", "metric", "device", "run_id")

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
    UniqueConstraint(*ALERT_KEY, name="uq_alerts_series_run"),
)

run_noise = Table(
    "run_noise",
    metadata,
    Column("device_fingerprint", String(64), primary_key=True),
    Column("workload", String(128), primary_key=True),
    Column("precision", String(32), primary_key=True),
    Column("backend", String(64), primary_key=True),
    Column("metric", String(128), primary_key=True),
    Column("device", String(128)),
    Column("sigma", Float, nullable=False),  # σ_run of log run medians, net of within-run error
    Column("sigma_low", Float, nullable=False),  # its 95 % interval
    Column("sigma_high", Float, nullable=False),
    Column("df", Float, nullable=False),
    Column("n_runs", Integer, nullable=False),
    Column("within", Float, nullable=False),  # rms within-run standard error of a run's log median
    Column("run_ids_json", Text),
    Column("created_at", String(40), nullable=False),
)

_ALERT_FIELDS = [f.name for f in fields(Alert)]


_ready: weakref.WeakSet[Engine] = weakref.WeakSet()
_ready_lock = threading.Lock()


def _ensure(store: Store) -> bool:
    """Create the side tables once per engine (a store opened before this module was imported).
    False: a read-only store without them (nothing can be created there: they read as empty)."""
    with _ready_lock:
        if store.engine in _ready:
            return True
        if store.read_only:
            if not all(inspect(store.engine).has_table(t.name) for t in (alerts, run_noise)):
                return False
        else:
            with store.engine.begin() as conn:
                schema_lock(conn)  # several shards may create these at once on PostgreSQL
                metadata.create_all(conn, tables=[alerts, run_noise])
                _widen_alert_key(conn)
        _ready.add(store.engine)
        return True


def _widen_alert_key(conn: Connection) -> None:
    """A store from before series were keyed by profile name too has an alert key without ``device``:
    two profiles of one machine could not both hold an alert at one run. Its constraint is widened in
    place (PostgreSQL), or the table copied into one with the new key (SQLite cannot alter one); every
    alert and every decision on one is kept."""
    uniques = inspect(conn).get_unique_constraints(alerts.name)
    if not uniques or any("device" in (u.get("column_names") or []) for u in uniques):
        return
    q = conn.dialect.identifier_preparer.quote
    cols = ", ".join(q(c) for c in ALERT_KEY)
    name = q("uq_alerts_series_run")
    if conn.dialect.name == "postgresql":
        for u in uniques:
            conn.execute(text(f"ALTER TABLE alerts DROP CONSTRAINT {q(str(u['name']))}"))
        conn.execute(text(f"ALTER TABLE alerts ADD CONSTRAINT {name} UNIQUE ({cols})"))
        return
    every = ", ".join(q(c.name) for c in alerts.columns)
    conn.execute(text("ALTER TABLE alerts RENAME TO alerts_before_profile_key"))
    alerts.create(conn)
    conn.execute(text(f"INSERT INTO alerts ({every}) SELECT {every} FROM alerts_before_profile_key"))
    conn.execute(text("DROP TABLE alerts_before_profile_key"))


# ---------------------------------------------------------------------------- alerts
def load_alerts(store: Store) -> list[Alert]:
    if not _ensure(store):
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(select(alerts).order_by(alerts.c.at, alerts.c.id)).mappings().all()
    return [Alert(**{k: r[k] for k in _ALERT_FIELDS}) for r in rows]


def alert_ids(store: Store) -> dict[tuple[str, ...], int]:
    if not _ensure(store):
        return {}
    c = alerts.c
    with store.engine.connect() as conn:
        rows = conn.execute(select(c.id, *(c[k] for k in ALERT_KEY))).all()
    return {tuple(r[1:]): int(r[0]) for r in rows}


def save_alerts(store: Store, items: Iterable[Alert]) -> None:
    """Upsert by (series, run): insert new alerts, update state/note of known ones. A read-only
    store keeps what it has (alerts are derived: the next publish on a writable store saves them)."""
    if store.read_only:
        return
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
    if not _ensure(store):
        return None
    with store.engine.connect() as conn:
        r = conn.execute(select(alerts).where(alerts.c.id == alert_id)).mappings().first()
    return None if r is None else Alert(**{k: r[k] for k in _ALERT_FIELDS})


def clear_alerts(store: Store) -> None:
    _ensure(store)
    with store.engine.begin() as conn:
        conn.execute(delete(alerts))


# ---------------------------------------------------------------------------- run noise
_NOISE = {"sigma": "sigma", "low": "sigma_low", "high": "sigma_high", "df": "df", "n_runs": "n_runs",
          "within": "within", "device": "device"}


def save_run_noise(store: Store, items: Iterable[CalibratedNoise]) -> int:
    """Store calibrations; a new one for a series replaces the old."""
    _ensure(store)
    now = utcnow()
    n = 0
    c = run_noise.c
    with store.engine.begin() as conn:
        for it in items:
            key = ((c.device_fingerprint == it.device_fingerprint) & (c.workload == it.workload)
                   & (c.precision == it.precision) & (c.backend == it.backend) & (c.metric == it.metric))
            conn.execute(delete(run_noise).where(key))
            conn.execute(insert(run_noise).values(
                device_fingerprint=it.device_fingerprint, workload=it.workload, precision=it.precision,
                backend=it.backend, metric=it.metric, **{col: getattr(it, f) for f, col in _NOISE.items()},
                run_ids_json=json.dumps(list(it.run_ids)), created_at=it.created_at or now))
            n += 1
    return n


def load_run_noise(store: Store) -> list[CalibratedNoise]:
    if not _ensure(store):
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(select(run_noise)).mappings().all()
    return [CalibratedNoise(device_fingerprint=r["device_fingerprint"], workload=r["workload"],
                            precision=r["precision"], backend=r["backend"], metric=r["metric"],
                            **{f: r[col] for f, col in _NOISE.items()},
                            run_ids=tuple(json.loads(r["run_ids_json"] or "[]")), created_at=r["created_at"])
            for r in rows]
