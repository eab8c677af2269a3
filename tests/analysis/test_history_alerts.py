"""History over a real store: a step is flagged at the right run, an outlier is not; alert life cycle."""

from __future__ import annotations

import numpy as np
import pytest

from harness.analysis import alerts as A
from harness.errors import HarnessError
from harness.results.analysis_tables import load_alerts, save_alerts
from harness.results.store import Store
from harness.views.history import load_series, sync_alerts
from tests.analysis.synthetic import CellSpec, record_history, record_run

CELLS = (
    CellSpec(workload="resnet"),
    CellSpec(workload="bert"),
    CellSpec(workload="canary"),
    CellSpec(device="pi5", fingerprint="fp-pi5", workload="resnet"),
    CellSpec(device="pi5", fingerprint="fp-pi5", workload="canary"),
)
LEVELS = {
    ("pixel", "resnet"): {10: 1.12},  # the build regressed at run 10
    ("pixel", "bert"): {-7: 1.4},  # one bad night, nothing more
    ("pi5", "resnet"): {9: 1.15},  # the device itself moved at run 9:
    ("pi5", "canary"): {9: 1.15},  # its canary moved too
}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    s = Store(tmp_path_factory.mktemp("hist") / "h.db")
    record_history(s, 16, cells=CELLS, levels=LEVELS)
    yield s
    s.close()


def _by(series, device, workload, metric="latency_ms@b1"):
    return next(s for s in series if s.device == device and s.key[0] == workload and s.key[4] == metric)


def test_step_flagged_at_the_right_run_outlier_not(store) -> None:
    series = load_series(store)
    resnet = _by(series, "pixel", "resnet")
    assert [resnet.points["run_id"].iloc[c.index] for c in resnet.changes] == ["night-010"]
    assert resnet.changes[0].worse
    tps = _by(series, "pixel", "resnet", "tokens_per_s")  # higher is better: the same step is worse too
    assert [(tps.points["run_id"].iloc[c.index], c.worse) for c in tps.changes] == [("night-010", True)]
    assert _by(series, "pixel", "bert").changes == []
    assert _by(series, "pixel", "canary").changes == []
    assert list(resnet.points["run_id"]) == sorted(resnet.points["run_id"])  # ordered by run time


def test_alerts_with_canary_suppression_and_life_cycle(store) -> None:
    series = load_series(store)
    alerts = sync_alerts(store, series, canaries={"*": "canary"})
    by = {(a.device, a.workload, a.metric): a for a in alerts}
    pixel = by[("pixel", "resnet", "latency_ms@b1")]
    assert pixel.state == "confirmed" and pixel.run_id == "night-010" and pixel.prev_run_id == "night-009"
    assert pixel.build_id == "b010" and pixel.prev_build_id == "b009"
    pi = by[("pi5", "resnet", "latency_ms@b1")]
    assert pi.state == "invalid" and "canary" in pi.note
    assert ("pixel", "bert", "latency_ms@b1") not in by

    acked = A.transition(pixel, "acknowledged", "expected: bigger model")
    save_alerts(store, [acked])
    again = {a.key: a for a in sync_alerts(store, series, canaries={"*": "canary"})}
    assert again[pixel.key].state == "acknowledged" and again[pixel.key].note == "expected: bigger model"
    with pytest.raises(HarnessError, match="cannot go from acknowledged to confirmed"):
        A.transition(again[pixel.key], "confirmed")
    assert len(load_alerts(store)) == len(alerts)


def test_merge_drops_alerts_no_longer_detected_but_keeps_human_decisions() -> None:
    base = dict(workload="w", precision="fp32", backend="cpu", device_fingerprint="f", metric="m", device="d",
                prev_run_id="r0", build_id=None, prev_build_id=None, at="t", before=1.0, after=1.2, ratio=1.2, p=0.001)
    auto = A.Alert(run_id="r1", **base)
    human = A.Alert(run_id="r2", state="acknowledged", by_user=True, **base)
    merged = {a.run_id: a for a in A.merge([auto, human], [])}
    assert merged["r1"].state == "invalid" and "no longer detected" in merged["r1"].note
    assert merged["r2"].state == "acknowledged"
    with pytest.raises(HarnessError, match="unknown alert state"):
        A.transition(auto, "closed")


def test_recovery_marks_fixed(tmp_path) -> None:
    s = Store(tmp_path / "fix.db")
    record_history(s, 14, cells=(CellSpec(),), levels={("pixel", "resnet"): {4: 1.2, 9: 1.0}})
    alerts = sync_alerts(s, load_series(s, metric="latency_ms@b1"))
    assert [(a.run_id, a.state) for a in alerts] == [("night-004", "fixed")]
    assert "night-009" in alerts[0].note


def test_canary_from_device_profile_labels(tmp_path, monkeypatch) -> None:
    from harness.results.history_source import device_canaries

    home = tmp_path / "home"
    (home / "devices").mkdir(parents=True)
    (home / "workloads").mkdir()
    (home / "devices" / "pi5.yaml").write_text(
        "name: pi5\nbackends:\n  - {name: cpu, provider: CPUExecutionProvider}\nlabels: {canary: canary}\n")
    monkeypatch.setenv("HARNESS_HOME", str(home))
    assert device_canaries() == {"pi5": "canary"}
    s = Store(tmp_path / "c.db")
    cells = (CellSpec(device="pi5", fingerprint="fp-pi5", workload="resnet"),
             CellSpec(device="pi5", fingerprint="fp-pi5", workload="canary"))
    record_history(s, 10, cells=cells, levels={("pi5", "resnet"): {5: 1.2}, ("pi5", "canary"): {5: 1.2}}, n=20)
    alerts = sync_alerts(s, load_series(s, metric="latency_ms@b1"))  # canaries=None: from the profiles
    assert sorted((a.workload, a.state) for a in alerts) == [("canary", "invalid"), ("resnet", "invalid")]
    assert "device itself moved" in next(a.note for a in alerts if a.workload == "canary")


def _threshold_step_nights(tmp_path, *, keep: bool) -> list[tuple[tuple[str, str], ...]]:
    """26 nights, a 6 % step at night 12 against the 5 % threshold; the open alerts after each night."""
    from harness.analysis.history import build_series
    from harness.results.history_source import history_frames

    s = Store(tmp_path / f"flicker-{keep}.db")
    rng = np.random.default_rng(4)
    states = []
    for night in range(26):
        level = 1.06 if night >= 12 else 1.0
        record_run(s, f"n{night:03d}", cells=(CellSpec(),), seed=400 + night, n=60, sigma=0.01,
                   offset=level * float(np.exp(rng.normal(0, 0.01))), created_at=f"2026-02-01T00:{night:02d}:00+00:00")
        if night >= 8:
            series = (load_series(s, metric="latency_ms@b1") if keep
                      else build_series(*history_frames(s, metric="latency_ms@b1")))  # no known steps
            alerts = sync_alerts(s, series, canaries={})
            states.append(tuple(sorted((a.run_id, a.state) for a in alerts if a.state in A.OPEN_STATES)))
    s.close()
    return states


def test_a_step_at_the_threshold_stays_raised_night_after_night(tmp_path) -> None:
    """A step near the threshold must not flicker: raised, "no longer detected", raised again."""
    plain = _threshold_step_nights(tmp_path, keep=False)
    # what used to happen (raised, dropped); three runs must hold now, and the step is at the threshold
    assert not any(plain[i] and not plain[i + 1] for i in range(len(plain) - 1)) or not all(plain), plain
    kept = _threshold_step_nights(tmp_path, keep=True)
    first = next(i for i, st in enumerate(kept) if st)
    assert all(st and st[0][0] == "n012" for st in kept[first:]), kept


def test_throttled_nights_are_set_aside_and_the_alert_names_them(tmp_path) -> None:
    hot = {"flags": [{"code": "throttled", "message": "throttled: cooling device cooling_device0 active during the cell"}]}
    s = Store(tmp_path / "t.db")
    blind, flagged = CellSpec(device="pi-blind", fingerprint="fp-b"), CellSpec(device="pi-hot", fingerprint="fp-h")
    for i in range(14):  # nights 10-13 ran hot (+12 %); the probes flagged three of the four on pi-hot
        at = f"2026-01-01T{i:02d}:00:00+00:00"
        factor = 1.12 if i >= 10 else 1.0
        record_run(s, f"b-{i:02d}", cells=[blind], seed=i, n=40, sigma=0.03, offset=factor, created_at=at)
        record_run(s, f"h-{i:02d}", cells=[flagged], seed=i, n=40, sigma=0.03, offset=factor, created_at=at,
                   result=hot if i in (10, 11, 13) else None)
    series = load_series(s, metric="latency_ms@b1")
    assert [c.index for c in _by(series, "pi-blind", "resnet").changes if c.worse] == [10]  # the values alone
    hot_series = _by(series, "pi-hot", "resnet")
    assert hot_series.set_aside == [10, 11, 13] and not [c for c in hot_series.changes if c.worse]
    # a real step a few nights later, with one hot night among it: raised, and the alert says which night was left out
    for i in range(14, 22):
        at = f"2026-01-01T{i:02d}:00:00+00:00"
        record_run(s, f"h-{i:02d}", cells=[flagged], seed=i, n=40, sigma=0.03, offset=1.0 if i < 16 else 1.15,
                   created_at=at, result=hot if i == 18 else None)
    hot_series = _by(load_series(s, device="pi-hot", metric="latency_ms@b1"), "pi-hot", "resnet")
    (alert,) = [a for a in A.detect_alerts([hot_series]) if a.run_id == "h-16"]
    assert "throttled night(s) set aside: h-18 (throttled: cooling device cooling_device0" in alert.note
    assert alert.state == "confirmed"  # 6 nights at the new level, one set aside: 5 confirm it
    s.close()
