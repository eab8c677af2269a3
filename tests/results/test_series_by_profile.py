"""A device is a physical thing, a profile is a view of it — and a history series is one profile's: two
profiles of one machine (one fingerprint; 2 threads and 1 thread) are two series, each judged alone, each
with its own alerts (both may step at the same run). A store whose alert key predates this is widened
in place, keeping every alert and decision."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import inspect, text

from harness.results.analysis_tables import load_alerts, save_alerts
from harness.results.store import Store
from harness.views.history import load_series, sync_alerts
from tests.analysis.synthetic import CellSpec, record_history
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)

TWO = (CellSpec(device="host-2t", fingerprint="fp-host", base_ms=10.0),
       CellSpec(device="host-1t", fingerprint="fp-host", base_ms=18.0))


def test_two_profiles_of_one_machine_are_two_series(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "h.db")
    record_history(store, 10, cells=TWO, levels={("host-1t", "resnet"): {6: 1.2}}, n=20)
    series = [s for s in load_series(store) if s.key[4] == "latency_ms@b1"]
    assert sorted(s.device for s in series) == ["host-1t", "host-2t"]
    by = {s.device: s for s in series}
    assert all(len(s.points) == 10 and s.key[3] == "fp-host" and s.key[5] == s.device for s in series)
    assert by["host-2t"].points["median"].max() < 12 < by["host-1t"].points["median"].min()  # never mixed
    assert by["host-2t"].changes == [] and [by["host-1t"].points["run_id"].iloc[c.index]
                                            for c in by["host-1t"].changes] == ["night-006"]
    assert by["host-1t"].slug != by["host-2t"].slug  # one page each
    alerts = sync_alerts(store, series)
    assert [(a.device, a.run_id) for a in alerts] == [("host-1t", "night-006")]
    store.close()


def _both_step(store: Store) -> None:
    record_history(store, 10, cells=TWO, levels={("host-1t", "resnet"): {6: 1.2}, ("host-2t", "resnet"): {6: 1.2}},
                   n=20)
    alerts = sync_alerts(store, load_series(store, metric="latency_ms@b1"))
    assert sorted((a.device, a.run_id) for a in alerts) == [("host-1t", "night-006"), ("host-2t", "night-006")]
    assert len(load_alerts(store)) == 2  # one machine, one run, two series: two alerts stored


OLD_ALERTS = """CREATE TABLE alerts (id {id} PRIMARY KEY, workload VARCHAR(128) NOT NULL,
 precision VARCHAR(32) NOT NULL, backend VARCHAR(64) NOT NULL, device_fingerprint VARCHAR(64) NOT NULL,
 metric VARCHAR(128) NOT NULL, device VARCHAR(128) NOT NULL, run_id VARCHAR(64) NOT NULL, prev_run_id VARCHAR(64),
 build_id VARCHAR(128), prev_build_id VARCHAR(128), at VARCHAR(40), before FLOAT, after FLOAT, ratio FLOAT, p FLOAT,
 state VARCHAR(16) NOT NULL, note TEXT, by_user BOOLEAN NOT NULL, updated_at VARCHAR(40),
 CONSTRAINT uq_alerts_series_run UNIQUE (workload, precision, backend, device_fingerprint, metric, run_id))"""


def _old_store_widened(url: str) -> None:
    """A store made before the profile joined the alert key: its one decided alert survives the widening."""
    first = Store(url)
    record_history(first, 10, cells=TWO[1:], levels={("host-1t", "resnet"): {6: 1.2}}, n=20)
    (alert,) = sync_alerts(first, load_series(first, metric="latency_ms@b1"))
    save_alerts(first, [replace(alert, state="acknowledged", note="known", by_user=True)])
    with first.engine.begin() as conn:  # put the table back as it was, the decided alert in it
        rows = conn.execute(text("SELECT * FROM alerts")).mappings().all()
        conn.execute(text("DROP TABLE alerts"))
        pg = conn.dialect.name == "postgresql"
        conn.execute(text(OLD_ALERTS.replace("{id}", "SERIAL" if pg else "INTEGER").replace(" precision ",
                                                                                            ' "precision" ')))
        for r in rows:
            conn.execute(text("INSERT INTO alerts (" + ", ".join(f'"{k}"' for k in r) + ") VALUES (" +
                              ", ".join(f":{k}" for k in r) + ")"), dict(r))
        if pg:  # as the serial stood after those inserts
            conn.execute(text("SELECT setval(pg_get_serial_sequence('alerts', 'id'), (SELECT max(id) FROM alerts))"))
    first.close()
    store = Store(url)  # a new engine: the side tables are checked (and widened) on first use
    (kept,) = load_alerts(store)
    assert (kept.device, kept.run_id, kept.state, kept.note, kept.by_user) == ("host-1t", "night-006", "acknowledged",
                                                                               "known", True)
    with store.engine.connect() as conn:
        (uq,) = inspect(conn).get_unique_constraints("alerts")
    assert "device" in uq["column_names"]
    # 11 nights: the step at night 6 holds the 5 runs that confirm an alert
    record_history(store, 11, cells=TWO[:1], levels={("host-2t", "resnet"): {6: 1.2}}, n=20, prefix="later")
    alerts = sync_alerts(store, load_series(store, metric="latency_ms@b1"))
    assert sorted((a.device, a.run_id, a.state) for a in alerts) == [("host-1t", "night-006", "acknowledged"),
                                                                      ("host-2t", "later-006", "confirmed")]
    store.close()


def test_sqlite_holds_an_alert_per_profile_at_one_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = Store(tmp_path / "s.db")
    _both_step(store)
    store.close()


def test_sqlite_old_alert_key_is_widened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _old_store_widened(str(tmp_path / "old.db"))


@pytest.mark.rig
def test_postgres_old_alert_key_is_widened(postgres_url: str) -> None:  # noqa: F811
    _old_store_widened(postgres_url)
