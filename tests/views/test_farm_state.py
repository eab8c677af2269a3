"""The farm's state the overview shows: each cell's latest complete result (a follow-up run of two
cells replaces only those), a device whose newest run measured nothing shown as down since then
with its last good results kept and dated, and the site and the run report still written
(issue 23 item 3: they used to die with KeyError: 'kind')."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.records import CellRecord, MetricValue
from harness.report.run_report import write_run_report
from harness.report.site.publish import publish
from harness.results.store import Store
from harness.views.farm_state import farm_state, load_farm_state
from harness.views.site import site_data
from tests.analysis.synthetic import DEFAULT_CELLS, CellSpec, record_run

DAY = "2026-01-{:02d}T03:00:00+00:00"
PIXEL = [c for c in DEFAULT_CELLS if c.device == "pixel"]


def _night(store: Store, run_id: str, day: int, cells: list[CellSpec] | tuple[CellSpec, ...] = DEFAULT_CELLS,
           **kw: object) -> None:
    record_run(store, run_id, created_at=DAY.format(day), seed=day, build_id=f"b{day}", cells=cells, **kw)  # type: ignore[arg-type]


def test_a_two_cell_follow_up_replaces_only_its_cells(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    _night(store, "full", 1)
    _night(store, "full2", 2)
    _night(store, "two", 3, cells=PIXEL[:2])  # resnet fp32 + bert fp32 of pixel only
    state, index = load_farm_state(store)
    shown = index[index["id"].isin(state.cell_ids)]
    assert len(shown) == len(DEFAULT_CELLS)  # the whole matrix, not the newest run's two cells
    runs = dict(zip(shown["workload"] + "/" + shown["precision"] + "/" + shown["device"], shown["run_id"]))
    assert runs == {"resnet/fp32/pixel": "two", "bert/fp32/pixel": "two", "resnet/int8/pixel": "full2",
                    "resnet/fp32/pi5": "full2"}
    assert not any(d.down for d in state.devices)

    data = site_data(store)
    assert data.matrix is not None and [g.device for g in data.matrix.devices] == ["pi5", "pixel"]
    dates = {(r.workload, r.precision, g): r.cells[g].at[:10] for r in data.matrix.rows for g in ("pixel", "pi5")
             if r.cells[g].at}
    assert dates[("resnet", "fp32", "pixel")] == "2026-01-03" and dates[("resnet", "int8", "pixel")] == "2026-01-02"
    assert sum(len(dc.cmp.rows) > 0 for dc in data.latest) == 2  # both devices judged against their baselines
    store.close()


def test_a_device_whose_newest_runs_measured_nothing_is_down_with_its_last_results_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    _night(store, "n1", 1)
    _night(store, "n2", 2)
    pi5 = [c for c in DEFAULT_CELLS if c.device == "pi5"]
    _night(store, "n3", 3, cells=pi5, status={"resnet": "failed"})  # pi5 offline: every cell failed
    _night(store, "n4", 4, cells=pi5, status={"resnet": "timeout"})
    _night(store, "n5", 5, cells=PIXEL[:2], status={"resnet": "failed"})  # one cell of pixel fails, bert ok
    state, index = load_farm_state(store)
    by = {d.device: d for d in state.devices}
    assert by["pi5"].down and by["pi5"].down_since == DAY.format(3) and by["pi5"].down_runs == 2
    assert by["pi5"].last_good_at == DAY.format(2) and by["pi5"].newest_run == "n4"
    assert by["pi5"].reason and "boom" in by["pi5"].reason
    assert not by["pixel"].down  # n5 failed one cell, the others stand
    shown = index[index["id"].isin(state.cell_ids)]
    assert set(shown["status"]) == {"ok"} and set(shown.loc[shown["device"] == "pi5", "run_id"]) == {"n2"}
    stale = shown.loc[(shown["device"] == "pixel") & (shown["workload"] == "resnet") & (shown["precision"] == "fp32"),
                      "id"].item()
    assert "n5: failed" in state.failing_since[int(stale)]

    out = tmp_path / "site"
    publish(store, out, run_pages=10)  # used to raise KeyError: 'kind'
    page = (out / "index.html").read_text()
    assert "down since 2026-01-03" in page and "last good results kept, of 2026-01-02" in page
    assert "newer attempts failed" in page  # the badge on pixel's stale cell
    for run in ("n3", "n4", "n5"):
        assert (out / "runs" / run / "index.html").is_file()
        assert "run report failed" not in (out / "runs.html").read_text()
    write_run_report(store, "n4", tmp_path / "report")  # `harness run`'s own report of the failed run
    store.close()


def test_a_device_that_never_measured_shows_its_newest_attempt() -> None:
    index = pd.DataFrame([
        {"id": 1, "run_id": "a", "run_created_at": DAY.format(1), "device": "x", "workload": "w", "precision": "fp32",
         "backend": "cpu", "status": "failed", "device_fingerprint": None},
        {"id": 2, "run_id": "b", "run_created_at": DAY.format(2), "device": "x", "workload": "w", "precision": "fp32",
         "backend": "cpu", "status": "timeout", "device_fingerprint": None},
    ])
    state = farm_state(index)
    assert state.cell_ids == [2] and state.devices[0].down and state.devices[0].last_good_at is None


def test_a_run_of_skipped_cells_says_nothing_about_the_device() -> None:
    rows = [(1, "a", 1, "fp32", "ok"), (2, "b", 2, "int4", "skipped")]  # b: -p int4, which x cannot run
    index = pd.DataFrame([{"id": i, "run_id": r, "run_created_at": DAY.format(d), "device": "x", "workload": "w",
                           "precision": p, "backend": "cpu", "status": st, "device_fingerprint": "fp"}
                          for i, r, d, p, st in rows])
    state = farm_state(index)
    assert state.cell_ids == [1, 2] and not state.devices[0].down and state.devices[0].newest_run == "a"


def test_non_finite_and_absurd_values_never_reach_a_page(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    _night(store, "n1", 1)
    store.create_run("bad", [{"cell_key": "pixel/resnet/fp32/cpu"}], build_id="b2")
    store.update_run("bad", created_at=DAY.format(2))
    huge = [1e308, float("inf"), 12.0]
    store.record_cell("bad", CellRecord(
        cell_key="pixel/resnet/fp32/cpu", device="pixel", workload="resnet", precision="fp32", backend="cpu",
        status="ok", device_fingerprint="fp-pixel", build_id="b2", artifact_sha256="sha-1",
        ep_requested="CPUExecutionProvider", result={},
        metrics=[MetricValue("latency_ms@b1", 1e308, "ms", "noisy", "perf_counter"),
                 MetricValue("peak_rss_mb", float("nan"), "MB", "deterministic", "VmHWM")],
        samples={"latency_ms@b1": huge}))
    store.finish_run("bad")
    out = tmp_path / "site"
    publish(store, out, run_pages=10)
    for page in [out / "index.html", out / "runs" / "bad" / "index.html"]:
        text = page.read_text()
        assert "e+308" not in text and "e+307" not in text and ">inf<" not in text, page
        assert not re.search(r"[\[,:]\s*-?(NaN|Infinity)\b", text), page  # nor in a chart's JSON
    store.close()


STATUSES = ["ok", "failed", "timeout", "skipped", "accuracy_fail"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.sampled_from(["x", "y"]), st.sampled_from(["w", "v"]),
                          st.sampled_from(["fp32", "int8"]), st.sampled_from(STATUSES)), min_size=1, max_size=30))
def test_the_state_holds_each_cell_once_its_newest_measured_result_first(rows: list) -> None:
    index = pd.DataFrame([{"id": i, "run_id": f"r{day}", "run_created_at": DAY.format(day + 1), "device": d,
                           "workload": w, "precision": p, "backend": "cpu", "status": s, "device_fingerprint": "fp"}
                          for i, (day, d, w, p, s) in enumerate(rows)])
    state = farm_state(index)
    shown = index.set_index("id").loc[state.cell_ids]
    keys = list(zip(shown["device"], shown["workload"], shown["precision"]))
    assert sorted(set(keys)) == sorted(set(zip(index["device"], index["workload"], index["precision"])))
    assert len(keys) == len(set(keys))  # every cell once
    for (d, w, p), cid in zip(keys, shown.index):
        same = index[(index["device"] == d) & (index["workload"] == w) & (index["precision"] == p)]
        measured = same[same["status"].isin(["ok", "accuracy_fail"])]
        if len(measured):  # the newest measured attempt (the last row of the newest run holding one)
            newest = measured.sort_values(["run_created_at", "id"]).iloc[-1]
            assert cid == newest["id"]
            assert (cid in state.failing_since) == bool((same["run_created_at"] > newest["run_created_at"]).any())
    for dev in state.devices:
        mine = index[(index["device"] == dev.device) & (index["status"] != "skipped")]
        after = mine[mine["run_created_at"] >= (dev.down_since or "~")]
        assert not after["status"].isin(["ok", "accuracy_fail"]).any()  # down: nothing measured since
        if not dev.down:
            newest = mine.sort_values("run_created_at").iloc[-1]["run_created_at"]
            assert mine[mine["run_created_at"] == newest]["status"].isin(["ok", "accuracy_fail"]).any()
