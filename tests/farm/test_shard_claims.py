"""Nightly shards started at the same moment are checked against each other in the store: two copies
of one shard, or 1/2 beside 1/3, and exactly one start wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from harness.results.claims import ShardTaken, claim_shard, name_claim
from harness.results.store import Store
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)


def _race(url: str, shards: list[tuple[int, int]]) -> list[str | None]:
    """Each shard claimed from its own thread and store connection, released at one instant."""
    stores = [Store(url) for _ in shards]
    gate = threading.Barrier(len(shards))
    results: list[str | None] = [None] * len(shards)

    def start(k: int) -> None:
        gate.wait()
        try:
            claim_shard(stores[k], "lab", "2026-05-01", *shards[k])
            results[k] = "won"
        except ShardTaken as exc:
            results[k] = str(exc)

    threads = [threading.Thread(target=start, args=(k,)) for k in range(len(shards))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for s in stores:
        s.close()
    return results


def _check(url: str) -> None:
    same = _race(url, [(1, 2)] * 4)
    assert same.count("won") == 1, same
    assert all("already claimed by" in r and "pid" in r for r in same if r != "won")
    mixed = _race(url, [(2, 2), (1, 3)])  # the same night: 2/2 already fits, 1/3 not
    assert mixed == ["won", mixed[1]] and "split it into 2 shards" in str(mixed[1])
    store = Store(url)
    name_claim(store, "lab", "2026-05-01", 1, "", "run-1")
    with pytest.raises(ShardTaken, match="already claimed by run run-1"):
        claim_shard(store, "lab", "2026-05-01", 1, 2)
    claim_shard(store, "lab", "2026-05-02", 1, 3)  # another night splits as it likes


def test_concurrent_shard_starts_on_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'claims.db'}")


@pytest.mark.rig
def test_concurrent_shard_starts_on_postgres(postgres_url: str) -> None:  # noqa: F811
    _check(postgres_url)
