"""Schema migrations, asv-style: a store older than SCHEMA_VERSION is upgraded in place.

Each entry maps version N to a function taking a connection at version N and leaving it
at N+1. A store newer than this harness is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, select, update

from harness.errors import HarnessError
from harness.results.schema import SCHEMA_VERSION, meta

Migration = Callable[[Connection], None]

# version -> migration to version + 1. Empty while the schema is at version 1.
MIGRATIONS: dict[int, Migration] = {}


def current_version(conn: Connection) -> int | None:
    row = conn.execute(select(meta.c.value).where(meta.c.key == "schema_version")).first()
    return int(row[0]) if row else None


def migrate(conn: Connection, url: str) -> None:
    version = current_version(conn)
    if version is None:
        conn.execute(meta.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    if version > SCHEMA_VERSION:
        raise HarnessError(
            f"results store {url} has schema_version {version}, newer than this harness "
            f"understands ({SCHEMA_VERSION}); upgrade harness"
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise HarnessError(f"no migration from schema_version {version} in {url}")
        step(conn)
        version += 1
        conn.execute(update(meta).where(meta.c.key == "schema_version").values(value=str(version)))
