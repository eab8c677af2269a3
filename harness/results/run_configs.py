"""The configuration a run started with (device profiles and workloads), stored beside the run.

``--resume`` runs with this, not with whatever the YAML files say now: a resumed run whose
``measure`` settings changed in between would otherwise mix two configurations in one run.
A side table on the core metadata (schema_version unchanged); stores written before it have
no row, and resume then reloads the files as before. URL passwords are masked before storing.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, ForeignKey, String, Table, Text, insert, select

from harness.results.redact import redact
from harness.results.schema import metadata
from harness.results.store import Store, schema_lock, utcnow

run_configs = Table(
    "run_configs",
    metadata,
    Column("run_id", String(64), ForeignKey("runs.run_id"), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("config_json", Text, nullable=False),  # {"devices": {name: profile}, "workloads": {name: {...}}}
)


def _ensure(store: Store) -> None:
    if store.read_only:
        return  # nothing can be created there; a store without the table has no configurations to read
    with store.engine.begin() as conn:
        schema_lock(conn)
        metadata.create_all(conn, tables=[run_configs])


def save_run_config(store: Store, run_id: str, config: dict[str, Any]) -> None:
    _ensure(store)
    with store.writing(f"save run {run_id}'s configuration") as conn:
        conn.execute(insert(run_configs).values(run_id=run_id, created_at=utcnow(),
                                                config_json=json.dumps(redact(config), sort_keys=True)))


def load_run_config(store: Store, run_id: str) -> dict[str, Any] | None:
    _ensure(store)
    with store.engine.connect() as conn:
        raw = conn.execute(select(run_configs.c.config_json).where(run_configs.c.run_id == run_id)).scalar()
    return json.loads(raw) if raw else None
