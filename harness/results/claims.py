"""Shard claims: nightly shards started at the same moment are checked against each other atomically.

Reading the runs table and then creating a run leaves a window in which two hosts both see "no
shard 1/2 yet" (or one starts 1/2 and another 1/3) and both run. Here each shard start inserts
rows that a unique constraint makes exclusive: one row per (farm, night, selection) holding the
split ``n`` (the first start of a night sets it; a start with another ``n`` finds it), and one per
(farm, night, selection, i) for the shard itself. The database decides who was first.
"""

from __future__ import annotations

import os
import platform
from typing import Any

from sqlalchemy import Column, Integer, String, Table, UniqueConstraint, insert, select, update
from sqlalchemy.exc import IntegrityError

from harness.errors import HarnessError
from harness.results.schema import metadata
from harness.results.store import Store, schema_lock, utcnow

SPLIT = 0  # the ``i`` of the row that holds a night's split

shard_claims = Table(
    "shard_claims",
    metadata,
    Column("farm", String(128), nullable=False),
    Column("night", String(40), nullable=False),
    Column("selection", String(255), nullable=False),  # the label selector after "i/n," ("" for none)
    Column("i", Integer, nullable=False),  # the shard, or SPLIT for the split row
    Column("n", Integer, nullable=False),
    Column("run_id", String(64)),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("claimed_at", String(40), nullable=False),
    UniqueConstraint("farm", "night", "selection", "i", name="uq_shard_claims"),
)


class ShardTaken(HarnessError):
    """Another start of this night already claimed the shard, or split the farm another way."""


def _ensure(store: Store) -> None:
    with store.writing("create the shard claims table") as conn:
        schema_lock(conn)
        metadata.create_all(conn, tables=[shard_claims])


def _insert(store: Store, row: dict[str, Any]) -> bool:
    """Insert one claim row in its own transaction; False when the unique constraint says taken."""
    try:
        with store.engine.begin() as conn:
            conn.execute(insert(shard_claims).values(**row))
        return True
    except IntegrityError:
        return False


def _holder(store: Store, farm: str, night: str, selection: str, i: int) -> dict[str, Any]:
    c = shard_claims.c
    with store.engine.connect() as conn:
        got = conn.execute(select(shard_claims).where(c.farm == farm, c.night == night, c.selection == selection,
                                                      c.i == i)).mappings().first()
    return dict(got or {})


def _who(row: dict[str, Any]) -> str:
    run = f"run {row['run_id']}" if row.get("run_id") else "a start"
    return f"{run} on host {row.get('host') or '?'} (pid {row.get('pid') or '?'}, since {row.get('claimed_at') or '?'})"


def claim_shard(store: Store, farm: str, night: str, i: int, n: int, selection: str = "") -> None:
    """Claim shard ``i``/``n`` of a night, or ShardTaken naming who holds it / how the night is split."""
    _ensure(store)
    base = {"farm": farm, "night": night, "selection": selection, "host": platform.node(), "pid": os.getpid(),
            "claimed_at": utcnow()}
    _insert(store, {**base, "i": SPLIT, "n": n})
    split = _holder(store, farm, night, selection, SPLIT)
    if split.get("n") != n:
        raise ShardTaken(f"farm {farm}: shard {i}/{n} does not fit night {night}: {_who(split)} split it into "
                         f"{split.get('n')} shards; every host of a night must use the same n in --shard i/n, or "
                         f"devices go unrun or run twice")
    if not _insert(store, {**base, "i": i, "n": n}):
        raise ShardTaken(f"farm {farm}: night {night} of shard {i}/{n} is already claimed by "
                         f"{_who(_holder(store, farm, night, selection, i))}; run with --resume to complete it, or "
                         f"pass --night to label a re-run")


def name_claim(store: Store, farm: str, night: str, i: int, selection: str, run_id: str) -> None:
    """The run that a claim became (for the message a later start gets)."""
    c = shard_claims.c
    with store.writing(f"record run {run_id} on its shard claim") as conn:
        conn.execute(update(shard_claims).where(c.farm == farm, c.night == night, c.selection == selection,
                                                c.i == i).values(run_id=run_id))
