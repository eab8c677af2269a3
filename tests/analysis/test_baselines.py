"""Baselines of a change: the last comparable successful cell; failed runs never are one."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from harness.analysis.baselines import identity_of, pick_baselines, same_configuration
from harness.results.store import Store
from harness.views.changes import NO_BASELINE, latest_changes, run_changes
from tests.analysis.synthetic import CellSpec, record_run

CELLS = (CellSpec(), CellSpec(workload="bert", base_ms=20.0))


def _store(tmp_path: Path, statuses: list[str]) -> Store:
    store = Store(tmp_path / "s.db")
    for i, st in enumerate(statuses):
        record_run(store, f"r{i}", cells=CELLS, status={"resnet": st, "bert": st}, seed=i,
                   created_at=f"2026-01-0{i + 1}T00:00:00+00:00")
    return store


def test_a_failed_run_is_skipped_and_the_last_good_one_is_the_baseline(tmp_path: Path) -> None:
    store = _store(tmp_path, ["ok", "ok", "failed", "ok"])
    cells = store.cells_frame()
    latest = cells[cells["run_id"] == "r3"]
    base = pick_baselines(cells, latest)
    assert set(cells.set_index("id").loc[list(base.values()), "run_id"]) == {"r1"}
    (ch,) = latest_changes(store)
    assert ch.last_run == "r3" and ch.baseline_runs == ("r1",) and ch.cmp is not None
    assert ch.cmp.counts()["INCOMPARABLE"] == 0 and ch.without_baseline == 0


def test_after_only_failed_runs_there_is_no_baseline_yet(tmp_path: Path) -> None:
    store = _store(tmp_path, ["failed", "ok"])
    (ch,) = latest_changes(store)
    assert ch.cmp is None and ch.baseline_label == NO_BASELINE and ch.without_baseline == 2
    (first,) = run_changes(store, "r0")  # the failed run itself: nothing before it either
    assert first.cmp is None


def test_other_session_settings_or_fingerprint_are_not_comparable() -> None:
    def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
        base = {"device": "pixel", "workload": "resnet", "precision": "fp32", "backend": "cpu",
                "device_fingerprint": "fp1", "status": "ok", "result_json": None}
        return pd.DataFrame([{**base, **r} for r in rows])

    two_threads = json.dumps({"identity": {"session": {"intra_op_num_threads": 2}}})
    one_thread = json.dumps({"session": {"intra_op_num_threads": 1}})  # an older store: no identity yet
    history = frame([
        {"id": 1, "run_id": "a", "run_created_at": "1", "result_json": one_thread},
        {"id": 2, "run_id": "b", "run_created_at": "2", "device_fingerprint": "fp2", "result_json": two_threads},
        {"id": 3, "run_id": "c", "run_created_at": "3", "result_json": two_threads},
        {"id": 4, "run_id": "d", "run_created_at": "4", "status": "timeout", "result_json": two_threads},
    ])
    latest = frame([{"id": 9, "run_id": "e", "run_created_at": "5", "result_json": two_threads}])
    assert pick_baselines(history, latest) == {9: 3}
    assert pick_baselines(history[history["id"] != 3], latest) == {}  # fp2 is another device; 1 ran 1 thread
    newer = json.dumps({"identity": {"session": {"intra_op_num_threads": 1}, "provider": "CPUExecutionProvider"}})
    assert same_configuration(identity_of(one_thread), identity_of(newer))  # only the session part is known to both
    assert not same_configuration(identity_of(two_threads), identity_of(newer))
    assert identity_of("not json") is None and identity_of(None) is None


def test_a_metric_new_since_the_baseline_is_not_an_incomparable_row(tmp_path: Path) -> None:
    import numpy as np

    from harness.records import CellRecord, MetricValue

    store = Store(tmp_path / "s.db")
    record_run(store, "r0", cells=(CellSpec(),), created_at="2026-01-01T00:00:00+00:00")  # before xplat existed
    store.create_run("r1", [], build_id="build-a")
    lat = np.random.default_rng(1).lognormal(np.log(10.0), 0.05, 200)
    store.record_cell("r1", CellRecord(
        "pixel/resnet/fp32/cpu", "pixel", "resnet", "fp32", "cpu", "ok", device_fingerprint="fp-pixel",
        artifact_sha256="sha-1", samples={"latency_ms@b1": lat, "tokens_per_s": 1000.0 / lat},
        metrics=[MetricValue("latency_ms@b1", float(np.median(lat)), "ms", "noisy", "perf_counter"),
                 MetricValue("tokens_per_s", float(np.median(1000.0 / lat)), "1/s", "noisy", "perf_counter"),
                 MetricValue("peak_rss_mb", 100.0, "MB", "deterministic", "VmHWM"),
                 MetricValue("xplat_rel_l2", 0.0, "ratio", "deterministic", "vs host")]))
    store.finish_run("r1")
    (ch,) = latest_changes(store)
    assert ch.cmp is not None and ch.cmp.counts()["INCOMPARABLE"] == 0
    assert {r.metric for r in ch.cmp.rows} == {"latency_ms@b1", "tokens_per_s", "peak_rss_mb"}
    assert any("new since their baseline" in n for n in ch.cmp.notes)
