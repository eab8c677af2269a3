"""Alerts and calibrated run noise persist in SQLite and in a real PostgreSQL store alike."""

from __future__ import annotations

from dataclasses import replace

import pytest

from harness.analysis.alerts import transition
from harness.records import CalibratedNoise
from harness.results.analysis_tables import (
    alert_by_id,
    alert_ids,
    load_alerts,
    load_run_noise,
    save_alerts,
    save_run_noise,
)
from harness.results.store import Store
from harness.views.history import load_series, sync_alerts
from tests.analysis.synthetic import CellSpec, record_history
from tests.rigs.postgres import postgres_rig, postgres_url  # noqa: F401  (fixtures)


def _roundtrip(store: Store) -> None:
    record_history(store, 10, cells=(CellSpec(),), levels={("pixel", "resnet"): {5: 1.2}}, n=20)  # 5 runs: confirmed
    alerts = sync_alerts(store, load_series(store, metric="latency_ms@b1"))
    assert [(a.run_id, a.state) for a in alerts] == [("night-005", "confirmed")]
    aid = alert_ids(store)[alerts[0].key]
    save_alerts(store, [transition(alert_by_id(store, aid), "acknowledged", "known")])
    assert [(a.state, a.by_user, a.note) for a in load_alerts(store)] == [("acknowledged", True, "known")]
    cal = CalibratedNoise(device_fingerprint="fp-pixel", workload="resnet", precision="fp32", backend="cpu",
                          metric="latency_ms@b1", device="pixel", sigma=0.03, low=0.02, high=0.05, df=9.0, n_runs=10,
                          within=0.004, run_ids=tuple("abcdefghij"))
    save_run_noise(store, [cal])
    save_run_noise(store, [replace(cal, sigma=0.04)])  # re-calibration replaces
    (got,) = load_run_noise(store)
    assert got.sigma == pytest.approx(0.04) and got.key == cal.key and got.run_ids == cal.run_ids and got.created_at


def test_sqlite(tmp_path) -> None:
    _roundtrip(Store(tmp_path / "t.db"))


@pytest.mark.rig
def test_postgres(postgres_url: str) -> None:  # noqa: F811
    store = Store(postgres_url)
    try:
        _roundtrip(store)
    finally:
        store.close()
