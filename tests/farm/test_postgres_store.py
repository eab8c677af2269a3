"""The results store on a real PostgreSQL server: the same interface and guarantees as SQLite."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import HarnessError
from harness.records import CellRecord, MetricValue
from harness.results.store import Store


def _cell(key: str, samples: np.ndarray) -> CellRecord:
    dev, wl, prec, be = key.split("/")
    return CellRecord(key, dev, wl, prec, be, "ok", transport="ssh", device_fingerprint="fp1", build_id="b1",
                      fingerprint={"soc": "rig"}, result={"flags": []}, wall_s=1.5,
                      metrics=[MetricValue("latency_ms@b1", float(np.median(samples)), "ms", "noisy", "perf_counter"),
                               MetricValue("peak_rss_mb", 88.0, "MB", "deterministic", "VmHWM")],
                      samples={"latency_ms@b1": samples})


@pytest.mark.rig
def test_store_round_trips_on_postgres(postgres_url: str) -> None:
    store = Store(postgres_url)
    assert store.engine.dialect.name == "postgresql"
    store.create_run("n1-s1", [{"key": "a/w/fp32/cpu"}], build_id="b1", kind="nightly",
                     labels={"night": "2026-04-01", "shard": "1/2", "farm": "lab"})
    store.create_run("n1-s2", [], build_id="b1", kind="nightly", labels={"night": "2026-04-01", "shard": "2/2"})
    raw = np.random.default_rng(0).gamma(4.0, 2.0, size=257)
    store.record_cell("n1-s1", _cell("a/w/fp32/cpu", raw))
    with pytest.raises(HarnessError, match="already recorded"):  # a resumed night never stores a cell twice
        store.record_cell("n1-s1", _cell("a/w/fp32/cpu", raw))
    store.record_cell("n1-s1", _cell("a/w/fp32/cpu", raw[:10]), replace=True)
    store.record_cell("n1-s2", _cell("b/w/fp32/cpu", raw))
    assert store.done_cell_keys("n1-s1") == {"a/w/fp32/cpu"}
    store.finish_run("n1-s1", summary={"statuses": {"ok": 1}})
    run = store.get_run("n1-s1")
    assert run["status"] == "finished" and run["labels"]["shard"] == "1/2" and run["summary"]["statuses"] == {"ok": 1}
    assert {r["run_id"] for r in store.list_runs()} == {"n1-s1", "n1-s2"}
    cells = store.cells_frame()
    assert sorted(cells["cell_key"]) == ["a/w/fp32/cpu", "b/w/fp32/cpu"]
    m = store.metrics_frame(["n1-s2"])
    assert set(m["metric"]) == {"latency_ms@b1", "peak_rss_mb"}
    got = store.samples_for(m["cell_id"].unique().tolist())
    assert np.array_equal(got[(int(m["cell_id"].iloc[0]), "latency_ms@b1")], raw)  # float64 bytes, exact
    again = Store(postgres_url)  # a second orchestrator opening the same database: schema already there
    assert again.done_cell_keys("n1-s2") == {"b/w/fp32/cpu"}


@pytest.mark.rig
def test_shards_opening_a_fresh_database_at_once_do_not_race(postgres_url: str) -> None:
    """Four orchestrators starting together on an empty database all get the schema. Without the
    schema lock, concurrent CREATE TABLE fails most of the time (duplicate pg_type rows, measured 12/16)."""
    import threading

    from harness.results.analysis_tables import load_alerts

    barrier, errors = threading.Barrier(4), []

    def start() -> None:
        barrier.wait()
        try:
            load_alerts(Store(postgres_url))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
