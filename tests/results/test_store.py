"""The SQLite store: atomic cells, raw samples, resume keys, schema version guard."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from harness.errors import HarnessError
from harness.records import CellRecord, MetricValue
from harness.results import schema as S
from harness.results.store import Store, resolve_url


def rec(key: str, status: str = "ok", n: int = 50) -> CellRecord:
    d, w, p, b = key.split("/")
    return CellRecord(
        key, d, w, p, b, status,
        metrics=[MetricValue("latency_ms", 1.5, "ms", "noisy", "perf_counter"),
                 MetricValue("peak_rss_mb", 80.0, "MB", "deterministic", "VmHWM")],
        samples={"latency_ms": np.linspace(1, 2, n)},
    )


def test_cells_metrics_and_samples_round_trip(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_run("r1", [{"key": "local/w/fp32/cpu"}], build_id="b1")
    cid = store.record_cell("r1", rec("local/w/fp32/cpu"))
    m = store.metrics_frame(["r1"])
    assert set(m["metric"]) == {"latency_ms", "peak_rss_mb"} and set(m["build_id"].dropna()) == set()
    got = store.samples_for([cid], "latency_ms")[(cid, "latency_ms")]
    np.testing.assert_array_equal(got, np.linspace(1, 2, 50))
    assert store.done_cell_keys("r1") == {"local/w/fp32/cpu"}
    assert store.get_run("r1")["plan"] == [{"key": "local/w/fp32/cpu"}]


def test_duplicate_cell_is_refused_and_leaves_no_partial_rows(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_run("r1", [])
    store.record_cell("r1", rec("d/w/fp32/cpu"))
    with pytest.raises(HarnessError, match="already recorded"):
        store.record_cell("r1", rec("d/w/fp32/cpu"))
    assert len(store.cells_frame(["r1"])) == 1 and len(store.metrics_frame(["r1"])) == 2


def test_a_failing_cell_transaction_commits_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_run("r1", [])
    bad = rec("d/w/fp32/cpu")
    bad.metrics.append(MetricValue("latency_ms", 2.0, "ms"))  # duplicate primary key -> the whole cell rolls back
    with pytest.raises(IntegrityError):
        store.record_cell("r1", bad)
    assert store.cells_frame(["r1"]).empty and store.done_cell_keys("r1") == set()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    with store.engine.begin() as conn:
        conn.execute(update(S.meta).where(S.meta.c.key == "schema_version").values(value=str(S.SCHEMA_VERSION + 1)))
    store.close()
    with pytest.raises(HarnessError, match="newer than this harness"):
        Store(tmp_path / "s.db")


def test_url_resolution(tmp_path: Path) -> None:
    assert resolve_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_stores_that_cannot_open_say_which_and_why_without_the_password(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_text("not sqlite\n")
    with pytest.raises(HarnessError, match=r"cannot open results store sqlite:///.*junk\.db: file is not a database"):
        Store(tmp_path / "junk.db")
    with pytest.raises(HarnessError, match="unsupported database.*SQLite.*PostgreSQL"):
        Store("mysql://u@h/db")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HarnessError) as err:
        Store(f"postgresql+psycopg://lab:s3cret@127.0.0.1:{port}/results")
    assert f"postgresql+psycopg://lab:***@127.0.0.1:{port}/results" in str(err.value)
    assert "s3cret" not in str(err.value) and "refused" in str(err.value)
    (tmp_path / "file").write_text("")
    with pytest.raises(HarnessError, match="cannot create its folder"):
        Store(tmp_path / "file" / "s.db")
