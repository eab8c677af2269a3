"""The keeper: a commit the store refuses (here: a lock held past the busy timeout, a real SQLite
lock) is retried, then journaled; the fault is remembered, later cells go straight to the journal;
replay stores each journaled cell once, samples and outputs intact."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from harness.records import CellRecord, MetricValue
from harness.results import journal
from harness.results.keeper import CellKeeper, replay
from harness.results.store import Store


def _cell(key: str) -> CellRecord:
    rng = np.random.default_rng(len(key))
    return CellRecord(key, "dev", "wl", "fp32", key.rsplit("/", 1)[-1], "ok", error="a \ud800 b",
                      metrics=[MetricValue("latency_ms@b1", 1.5, "ms", "noisy", "perf_counter")],
                      samples={"latency_ms@b1": rng.gamma(4, 2, 50)}, outputs={"y": rng.normal(size=(2, 3))},
                      result={"flags": []})


def test_a_refused_commit_is_journaled_then_replayed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_STORE_BUSY_TIMEOUT_S", "0.2")
    monkeypatch.setenv("HARNESS_JOURNAL", str(tmp_path / "elsewhere"))
    db = tmp_path / "s.db"
    store = Store(db)
    store.create_run("r", [])
    keeper = CellKeeper(store, "r", backoff_s=(0.05, 0.05))
    assert keeper.keep(_cell("d/w/fp32/cpu0"))
    holder = sqlite3.connect(str(db), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    assert not keeper.keep(_cell("d/w/fp32/cpu1"))
    assert keeper.fault is not None and "database is locked" in str(keeper.fault) and str(db) in str(keeper.fault)
    assert not keeper.keep(_cell("d/w/fp32/cpu2"))  # the fault is remembered: no more waiting on the store
    assert [p.parent for p in keeper.journaled] == [tmp_path / ".s.db.journal" / "r"] * 2
    assert "2 measured cell(s) kept in the journal" in keeper.stop_message(1)
    assert "harness run --resume r" in keeper.stop_message(1)
    holder.execute("ROLLBACK")
    holder.close()

    store.record_cell("r", _cell("d/w/fp32/cpu2"))  # as if its commit had landed after all
    assert replay(store, "r") == 1  # cpu1; cpu2 is already there and is not stored twice
    assert replay(store, "r") == 0 and not list(journal.entries(store.url, "r"))
    assert not (tmp_path / ".s.db.journal").exists()
    cells = store.cells_frame(["r"])
    assert sorted(cells.backend) == ["cpu0", "cpu1", "cpu2"]
    cpu1 = int(cells[cells.backend == "cpu1"].id.iloc[0])
    np.testing.assert_array_equal(store.samples_for([cpu1])[(cpu1, "latency_ms@b1")],
                                  _cell("d/w/fp32/cpu1").samples["latency_ms@b1"])
    assert cells[cells.backend == "cpu1"].error.iloc[0] == "a \ufffd b"


def test_a_journal_of_another_store_is_left_alone(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "a.db"), Store(tmp_path / "b.db")
    for s in (a, b):
        s.create_run("r", [])
    entry = journal.write(a.url, "r", _cell("d/w/fp32/cpu0"))
    moved = tmp_path / ".b.db.journal" / "r" / entry.name  # a's entry where b's journal is
    moved.parent.mkdir(parents=True)
    entry.rename(moved)
    assert replay(b, "r") == 0 and moved.exists()  # it names store a: never stored into b
    moved.rename(entry)
    assert replay(a, "r") == 1
