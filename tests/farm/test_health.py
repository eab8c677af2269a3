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
