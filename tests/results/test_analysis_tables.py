"""Alerts and noise floors persist in SQLite and in a real PostgreSQL store alike."""

from __future__ import annotations

import pytest

from harness.analysis.alerts import transition
from harness.results.analysis_tables import (
    alert_by_id,
    alert_ids,
    calibration_map,
    load_alerts,
    save_alerts,
    save_noise_floors,
)
from harness.results.history_source import load_series, sync_alerts
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_history
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)


def _roundtrip(store: Store) -> None:
    record_history(store, 9, cells=(CellSpec(),), levels={("pixel", "resnet"): {5: 1.2}}, n=20)
    alerts = sync_alerts(store, load_series(store, metric="latency_ms@b1"))
    assert [(a.run_id, a.state) for a in alerts] == [("night-005", "confirmed")]
    aid = alert_ids(store)[alerts[0].key]
    save_alerts(store, [transition(alert_by_id(store, aid), "acknowledged", "known")])
    assert [(a.state, a.by_user, a.note) for a in load_alerts(store)] == [("acknowledged", True, "known")]
    floor = {"device_fingerprint": "fp-pixel", "workload": "resnet", "metric": "latency_ms@b1", "device": "pixel",
             "floor": 0.07, "n_pairs": 3, "run_ids": ["a", "b", "c"]}
    save_noise_floors(store, [floor])
    save_noise_floors(store, [{**floor, "floor": 0.08}])  # re-calibration replaces
    assert calibration_map(store) == {("fp-pixel", "resnet", "latency_ms@b1"): pytest.approx(0.08)}


def test_sqlite(tmp_path) -> None:
    _roundtrip(Store(tmp_path / "t.db"))


@pytest.mark.rig
def test_postgres(postgres_url: str) -> None:  # noqa: F811
    store = Store(postgres_url)
    try:
        _roundtrip(store)
    finally:
        store.close()
