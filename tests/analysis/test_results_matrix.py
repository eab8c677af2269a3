"""The results matrix decision (analysis.results_matrix) on real stores written cell by cell,
loaded through views.results_matrix: rows, column groups, statuses, speed-ups, best backend."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.results_matrix import NOT_PLANNED, NOT_RUN, Agreement, results_matrix
from harness.errors import HarnessError
from harness.records import CellRecord, MetricValue
from harness.results.store import Store
from harness.views.results_matrix import load_results_matrix, run_results_matrix


def cell(device: str, workload: str, precision: str, backend: str = "cpu", *, ms: float = 10.0, status: str = "ok",
         fp: str | None = None, rel_l2: float | None = 1e-3, energy: float | None = None, n: int = 50,
         flags: list[object] | None = None, seed: int = 0, outputs: dict[str, np.ndarray] | None = None) -> CellRecord:
    rng = np.random.default_rng(seed)
    lat = ms * rng.lognormal(0, 0.05, n)
    ok = status in ("ok", "accuracy_fail")
    metrics = [MetricValue("latency_ms@b1", float(np.median(lat)), "ms", "noisy", "perf_counter"),
               MetricValue("peak_rss_mb", 100.0 + ms, "MB", "deterministic", "VmHWM")]
    if rel_l2 is not None:
        metrics += [MetricValue("rel_l2", rel_l2, "ratio", "deterministic", "vs fp32 host CPU"),
                    MetricValue("xplat_rel_l2", rel_l2 / 10, "ratio", "deterministic", "vs host"),
                    MetricValue("xplat_max_abs", rel_l2, "abs", "deterministic", "vs host")]
    if energy is not None:
        metrics.append(MetricValue("energy_mj_per_inference", energy, "mJ", "noisy", "rapl"))
    return CellRecord(
        cell_key=f"{device}/{workload}/{precision}/{backend}", device=device, workload=workload, precision=precision,
        backend=backend, status=status, error=None if ok else "InvalidGraph: boom", device_fingerprint=fp or f"fp-{device}",
        artifact_sha256=f"sha-{workload}-{precision}", metrics=metrics if ok else [],
        samples={"latency_ms@b1": lat} if ok else {}, result={"flags": flags or [], "job_kind": "single"},
        outputs=outputs or {}, inputs_sha256="inputs-1" if outputs else None,
    )


def plan(*cells: CellRecord, extra: list[dict[str, object]] = ()) -> list[dict[str, object]]:  # type: ignore[assignment]
    return [{"device": c.device, "workload": c.workload, "precision": c.precision, "backend": c.backend,
             "status": "planned", "reason": None, "key": c.cell_key} for c in cells] + list(extra)


def store_with(tmp_path: Path, run_id: str, cells: list[CellRecord], *, extra_plan=(), store: Store | None = None,
               build: str = "b1") -> Store:
    store = store or Store(tmp_path / "s.db")
    store.create_run(run_id, plan(*cells, extra=list(extra_plan)), build_id=build)
    for c in cells:
        store.record_cell(run_id, c)
    store.finish_run(run_id)
    return store


def test_one_backend_per_device_collapses_rows_and_every_cell_has_a_status(tmp_path: Path) -> None:
    interrupted = {"device": "pi5", "workload": "resnet", "precision": "int4", "backend": "cpu", "status": "planned",
                   "reason": None, "key": "pi5/resnet/int4/cpu"}
    skipped = {"device": "pixel", "workload": "resnet", "precision": "int4", "backend": "nnapi", "status": "skipped",
               "reason": "backend does not support int4", "key": "pixel/resnet/int4/nnapi"}
    store = store_with(tmp_path, "r1", [
        cell("pixel", "resnet", "fp32", "nnapi", ms=10.0),
        cell("pixel", "resnet", "int8", "nnapi", ms=4.0, energy=2.5, flags=[{"code": "ep_fallback", "message": "EP x"}]),
        cell("pi5", "resnet", "fp32", ms=40.0, flags=["throttled: cpu0"]),
        cell("pi5", "resnet", "int8", status="failed"),
        cell("pi5", "bert", "fp32", ms=20.0),
    ], extra_plan=[interrupted, skipped])
    m = run_results_matrix(store, "r1")
    assert [d.key for d in m.devices] == ["pi5", "pixel"] and not m.by_backend
    rows = {(r.workload, r.precision): r for r in m.rows}
    assert list(rows) == [("bert", "fp32"), ("resnet", "fp32"), ("resnet", "int8"), ("resnet", "int4")]
    assert rows[("resnet", "int8")].cells["pixel"].speedup == pytest.approx(10 / 4, rel=0.1)
    assert rows[("resnet", "fp32")].cells["pixel"].speedup == 1.0
    assert rows[("resnet", "int8")].cells["pi5"].status == "failed"
    assert rows[("resnet", "int8")].cells["pi5"].error == "InvalidGraph: boom"
    assert rows[("resnet", "int4")].cells["pi5"].status == NOT_RUN
    assert rows[("resnet", "int4")].cells["pixel"].status == "skipped"
    assert "int4" in (rows[("resnet", "int4")].cells["pixel"].error or "")
    assert rows[("bert", "fp32")].cells["pixel"].status == NOT_PLANNED
    statuses = {c.status for r in m.rows for c in r.cells.values()}
    assert "" not in statuses and None not in statuses
    c = rows[("resnet", "fp32")].cells["pi5"]
    assert c.ci_low is not None and c.ci_high is not None and c.ci_low <= c.latency <= c.ci_high and c.n == 50
    assert c.flags == ("throttled: cpu0",) and rows[("resnet", "int8")].cells["pixel"].flags == ("EP x",)
    assert c.memory_mb == pytest.approx(140.0) and c.xplat_rel_l2 == pytest.approx(1e-4)
    assert m.columns == ("latency", "speedup", "memory", "energy", "rel_l2", "xplat")  # energy: pixel int8 has it
    assert m.status_counts() == {"ok": 4, "failed": 1, NOT_PLANNED: 1, NOT_RUN: 1, "skipped": 1}


def test_two_backends_split_rows_and_mark_the_fastest(tmp_path: Path) -> None:
    store = store_with(tmp_path, "r1", [
        cell("pixel", "resnet", "fp32", "cpu", ms=10.0), cell("pixel", "resnet", "fp32", "nnapi", ms=6.0),
        cell("pixel", "resnet", "int8", "cpu", ms=5.0), cell("pixel", "resnet", "int8", "nnapi", status="timeout"),
        cell("pi5", "resnet", "fp32", "cpu", ms=40.0),
    ])
    m = run_results_matrix(store, "r1")
    assert m.by_backend
    rows = {(r.precision, r.backend): r for r in m.rows}
    assert rows[("fp32", "nnapi")].cells["pixel"].best and not rows[("fp32", "cpu")].cells["pixel"].best
    assert not rows[("int8", "cpu")].cells["pixel"].best  # the only one measured: no choice, no mark
    assert rows[("int8", "cpu")].cells["pixel"].speedup == pytest.approx(2.0, rel=0.1)  # vs fp32 on cpu, not nnapi
    assert rows[("fp32", "nnapi")].cells["pi5"].status == NOT_PLANNED
    assert not rows[("fp32", "cpu")].cells["pi5"].best
    assert "energy" not in m.columns  # nothing measured it


def test_several_runs_and_a_build_take_the_newest_cell_per_device(tmp_path: Path) -> None:
    store = store_with(tmp_path, "r1", [cell("pixel", "resnet", "fp32", ms=10.0), cell("pi5", "resnet", "fp32", ms=40.0)])
    store_with(tmp_path, "r2", [cell("pixel", "resnet", "fp32", status="failed")], store=store)
    store_with(tmp_path, "r3", [cell("pi5", "resnet", "fp32", ms=30.0)], store=store, build="b2")
    m = load_results_matrix(store, ["b1"])  # the build: per device its latest run of b1
    row = m.rows[0]
    assert row.cells["pixel"].status == "failed" and row.cells["pixel"].run_id == "r2"
    assert row.cells["pi5"].run_id == "r1"
    merged = load_results_matrix(store, ["r1", "r3"])
    assert merged.rows[0].cells["pi5"].run_id == "r3" and merged.rows[0].cells["pixel"].run_id == "r1"
    with pytest.raises(HarnessError, match="not a run id or a build id"):
        load_results_matrix(store, ["nope"])
    with pytest.raises(HarnessError, match="unknown column"):
        load_results_matrix(store, ["r1"], columns=["latency", "watts"])
    only = load_results_matrix(store, ["r1"], columns=["latency", "rel_l2"])
    assert only.columns == ("latency", "rel_l2")


def test_metric_glob_picks_the_series_and_leaves_out_workloads_without_it(tmp_path: Path) -> None:
    c = cell("pixel", "resnet", "fp32")
    c.metrics.append(MetricValue("latency_ms@b4", 31.0, "ms", "noisy", "perf_counter"))
    c.samples["latency_ms@b4"] = np.full(8, 31.0)
    store = store_with(tmp_path, "r1", [c, cell("pixel", "bert", "fp32")])
    m = load_results_matrix(store, ["r1"], metric="latency_ms@b4")
    assert [(r.workload, r.metric) for r in m.rows] == [("resnet", "latency_ms@b4")]
    assert m.rows[0].cells["pixel"].latency == 31.0 and m.rows[0].cells["pixel"].ci_low == 31.0
    assert any("bert" in n for n in m.notes)


def test_agreement_against_a_reference_device_from_kept_outputs(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ref = {"b1/y": rng.standard_normal((1, 10)).astype(np.float32)}
    noisy = {"b1/y": ref["b1/y"] + np.float32(1e-3)}
    store = store_with(tmp_path, "r1", [
        cell("pixel", "resnet", "int8", outputs=ref), cell("pi5", "resnet", "int8", outputs=noisy),
        cell("jetson", "resnet", "int8"),  # no kept outputs
    ])
    m = load_results_matrix(store, ["r1"], reference="pixel")
    row = m.rows[0]
    assert row.cells["pixel"].is_reference
    expected = float(np.linalg.norm(ref["b1/y"] - noisy["b1/y"]) / np.linalg.norm(ref["b1/y"]))
    assert row.cells["pi5"].xplat_rel_l2 == pytest.approx(expected, rel=1e-5)
    assert row.cells["pi5"].xplat_max_abs == pytest.approx(1e-3, rel=1e-3)
    assert row.cells["jetson"].xplat_rel_l2 is None and "not kept" in (row.cells["jetson"].xplat_note or "")
    assert m.reference == "pixel" and "pixel" in m.reference_method
    with pytest.raises(HarnessError, match="no such device"):
        load_results_matrix(store, ["r1"], reference="iphone")


def test_identical_outputs_are_kept_once(tmp_path: Path) -> None:
    from sqlalchemy import func, select

    from harness.results.kept_outputs import cell_outputs, output_blobs

    out = {"b1/y": np.arange(10, dtype=np.float32).reshape(1, 10)}
    store = store_with(tmp_path, "r1", [cell("pixel", "resnet", "fp32", outputs=out),
                                        cell("pi5", "resnet", "fp32", outputs=dict(out))])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(output_blobs)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(cell_outputs)).scalar() == 2


def test_the_pure_decision_takes_frames_and_an_agreement_map(tmp_path: Path) -> None:
    store = store_with(tmp_path, "r1", [cell("pixel", "resnet", "fp16"), cell("pi5", "resnet", "fp16")])
    cells, metrics = store.cells_frame(["r1"]), store.metrics_frame(["r1"])
    pi5 = int(cells.loc[cells["device"] == "pi5", "id"].iloc[0])
    m = results_matrix(cells, metrics, {}, agreement={pi5: Agreement(0.5, 0.25)}, reference="pixel")
    assert m.rows[0].cells["pi5"].xplat_rel_l2 == 0.5 and m.rows[0].cells["pixel"].is_reference
    assert m.rows[0].cells["pi5"].ci_low is None  # no samples given: no interval, still a median
    assert m.rows[0].cells["pi5"].speedup is None  # no fp32 on the device
    assert json.dumps(m.records())  # the tidy form is plain data


def _on(record: CellRecord, runtime: str | None, provider: str | None = None) -> CellRecord:
    """The cell as stored by a backend of ``runtime`` (its identity), ONNX Runtime's when None."""
    ident = {"runtime": runtime, "runtime_version": "1.0"} if runtime else {"provider": provider}
    record.result = {**record.result, "identity": ident}
    return record


def test_runtimes_are_a_row_axis_with_a_speedup_vs_the_devices_ort_fp32(tmp_path: Path) -> None:
    ncnn_int8 = {"device": "pi5", "workload": "resnet", "precision": "int8", "backend": "ncnn", "status": "skipped",
                 "reason": "ncnn cannot make int8: no tools", "key": "pi5/resnet/int8/ncnn", "runtime": "ncnn"}
    store = store_with(tmp_path, "r1", [
        _on(cell("pi5", "resnet", "fp32", "ort", ms=20.0), None, "CPUExecutionProvider"),
        _on(cell("pi5", "resnet", "fp32", "ort-xnn", ms=10.0), None, "XnnpackExecutionProvider"),
        _on(cell("pi5", "resnet", "fp32", "ncnn", ms=16.0), "ncnn"),
        _on(cell("pi5", "resnet", "fp16", "ncnn", ms=8.0), "ncnn"),
        _on(cell("pi5", "resnet", "fp16", "ort", ms=25.0), None, "CPUExecutionProvider"),
    ], extra_plan=[ncnn_int8])
    m = run_results_matrix(store, "r1")
    assert m.by_runtime and "vs_ort" in m.columns
    rows = {(r.precision, r.backend): r for r in m.rows}
    assert [r.runtime for r in m.rows if r.precision == "fp32"] == ["onnxruntime", "onnxruntime", "ncnn"]
    # the CPU EP backend is the device's ORT fp32, though the XNNPACK one is faster
    assert rows[("fp32", "ncnn")].cells["pi5"].vs_ort == pytest.approx(20 / 16, rel=0.1)
    assert rows[("fp16", "ncnn")].cells["pi5"].vs_ort == pytest.approx(20 / 8, rel=0.1)
    assert rows[("fp16", "ncnn")].cells["pi5"].speedup == pytest.approx(16 / 8, rel=0.1)
    skipped = rows[("int8", "ncnn")]
    assert skipped.runtime == "ncnn" and skipped.cells["pi5"].status == "skipped"
    recs = [r for r in m.records() if r["backend"] == "ncnn" and r["precision"] == "fp16"]
    assert recs[0]["runtime"] == "ncnn" and recs[0]["speedup_vs_ort_fp32"] == pytest.approx(2.5, rel=0.1)


def test_ort_only_tables_keep_their_columns(tmp_path: Path) -> None:
    store = store_with(tmp_path, "r1", [cell("pi5", "resnet", "fp32", "cpu"), cell("pi5", "resnet", "fp32", "xnn")])
    m = run_results_matrix(store, "r1")
    assert m.by_backend and not m.by_runtime and "vs_ort" not in m.columns


def test_the_table_keeps_the_runtimes_asked_for(tmp_path: Path) -> None:
    from harness.views.results_matrix import load_results_matrix

    skipped = {"device": "pi5", "workload": "resnet", "precision": "int8", "backend": "ncnn", "status": "skipped",
               "reason": "ncnn cannot make int8", "key": "pi5/resnet/int8/ncnn", "runtime": "ncnn"}
    store = store_with(tmp_path, "r1", [
        _on(cell("pi5", "resnet", "fp32", "ort", ms=20.0), None, "CPUExecutionProvider"),
        _on(cell("pi5", "resnet", "fp32", "ncnn", ms=16.0), "ncnn"),
        _on(cell("pi5", "resnet", "fp32", "ov", ms=12.0), "openvino"),
    ], extra_plan=[skipped])
    m = load_results_matrix(store, ["r1"], runtimes=["ncnn", "onnx*"])
    assert {(r.precision, r.backend) for r in m.rows} == {("fp32", "ort"), ("fp32", "ncnn"), ("int8", "ncnn")}
    only_ov = load_results_matrix(store, ["r1"], runtimes=["openvino"])
    assert [r.cells["pi5"].runtime for r in only_ov.rows] == ["openvino"]  # one backend: rows not split
