"""Farm health across nights: a device sick night after night is counted, not silently absent."""

from __future__ import annotations

from harness.farm.health import farm_health, streaks
from harness.results.store import Store


def _night(store: Store, night: str, preflight: dict[str, bool], shard: str = "1/1",
           runtime_quarantined: tuple[str, ...] = ()) -> None:
    run_id = f"run-{night}-{shard.replace('/', 'of')}"
    pf = [{"device": d, "ok": ok, "reason": None if ok else "unreachable: refused", "facts": {}, "duration_s": 0.1}
          for d, ok in preflight.items()]
    store.create_run(run_id, [], kind="nightly", labels={"farm": "lab", "night": night, "shard": shard,
                                                         "preflight": pf})
    devices = {d: {"quarantined": "quarantined after 3 consecutive failed cells" if d in runtime_quarantined else None,
                   "error": None} for d, ok in preflight.items() if ok}
    store.finish_run(run_id, summary={"devices": devices})


def test_quarantined_nights_in_a_row_and_the_last_good_night(tmp_path) -> None:
    store = Store(tmp_path / "h.db")
    _night(store, "2026-05-01", {"pixel": True, "pi5": True, "orin": True})
    _night(store, "2026-05-02", {"pixel": False, "pi5": True, "orin": True}, runtime_quarantined=("orin",))
    _night(store, "2026-05-03", {"pixel": False, "pi5": True})
    _night(store, "2026-05-03", {"orin": False}, shard="2/2")  # another shard, same night
    _night(store, "2026-05-04", {"pixel": True})  # a later night does not count for 05-03
    s = streaks(store, "lab", "2026-05-03")
    assert s["pixel"] == {"bad_nights": 2, "last_ok_night": "2026-05-01"}
    assert s["orin"] == {"bad_nights": 2, "last_ok_night": "2026-05-01"}  # quarantined mid-run counts too
    assert s["pi5"] == {"bad_nights": 0, "last_ok_night": "2026-05-03"}
    h = farm_health(store, "lab", "2026-05-03", ["pixel", "pi5", "orin", "jetson-x"])
    assert [d["device"] for d in h["devices"]] == ["orin", "pixel", "jetson-x", "pi5"]  # the sick first
    assert h["devices"][2]["state"] == "no run" and "has not reported" in h["devices"][2]["reason"]
    assert h["totals"]["no_run"] == 1
    assert {d["device"]: d["shard"] for d in h["devices"]} == {"orin": "2/2", "pixel": "1/1", "pi5": "1/1", "jetson-x": None}
    assert h["totals"]["quarantined"] == 2 and h["totals"]["online"] == 1
    never = streaks(store, "lab", "2026-05-02")
    assert never["pixel"]["bad_nights"] == 1 and streaks(store, "other-farm", "2026-05-03") == {}


def test_noise_score_is_the_median_calibrated_sigma_run(tmp_path) -> None:
    import math

    from harness.records import CalibratedNoise, CellRecord
    from harness.results.analysis_tables import save_run_noise

    store = Store(tmp_path / "n.db")
    key = "pixel/resnet/fp32/cpu"
    pf = [{"device": "pixel", "ok": True, "reason": None, "facts": {}, "duration_s": 0.1}]
    store.create_run("n1", [{"device": "pixel", "key": key}], kind="nightly",
                     labels={"farm": "lab", "night": "2026-05-01", "shard": "1/1", "preflight": pf})
    store.record_cell("n1", CellRecord(cell_key=key, device="pixel", workload="resnet", precision="fp32",
                                       backend="cpu", status="ok", device_fingerprint="fp-pixel", wall_s=1.0))
    store.finish_run("n1", summary={"devices": {"pixel": {"quarantined": None, "error": None}}})
    save_run_noise(store, [CalibratedNoise("fp-pixel", w, "fp32", "cpu", "latency_ms@b1", "pixel", sigma=s, low=s / 2,
                                           high=2 * s, df=9, n_runs=10, within=0.001)
                           for w, s in (("a", 0.01), ("b", 0.02), ("c", 0.04))])
    (pixel,) = farm_health(store, "lab", "2026-05-01", ["pixel"])["devices"]
    assert pixel["fingerprint"] == "fp-pixel" and pixel["noise_pct"] == round(100 * math.expm1(0.02), 3)
