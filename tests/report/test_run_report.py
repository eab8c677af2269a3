"""The per-run HTML page renders for any stored run, interrupted ones included."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.records import CellRecord, MetricValue
from harness.report.run_report import write_run_report
from harness.results.store import Store


def test_report_of_a_run_without_summary_and_with_hostile_names(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_run("r1", [], build_id="<b>build</b>")  # never finished: no summary
    store.record_cell("r1", CellRecord(
        "d/w/fp32/cpu", "<script>alert(1)</script>", "w", "fp32", "cpu", "ok",
        metrics=[MetricValue("latency_ms", 1.0, "ms", "noisy", "perf_counter")], samples={"latency_ms": np.ones(5)}))
    store.record_cell("r1", CellRecord("d/w/int4/cpu", "dev", "w", "int4", "cpu", "failed", error="<img src=x onerror=1>"))
    html = write_run_report(store, "r1", tmp_path / "out").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html and "&lt;b&gt;build&lt;/b&gt;" in html
    assert "Plotly.newPlot" in html


def _cell(store: Store, run: str, workload: str, result: dict) -> None:
    store.record_cell(run, CellRecord(f"d/{workload}/fp32/cpu", "d", workload, "fp32", "cpu", "ok", result=result,
                                      metrics=[MetricValue("latency_ms", 1.0, "ms", "noisy", "perf_counter")],
                                      samples={"latency_ms": np.ones(5)}))


def test_seeded_note_only_for_built_in_models_and_flags_beside_cells(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    store.create_run("user", [])
    _cell(store, "user", "vad", {"model_source": {"path": "/m/vad.onnx"},
                                 "flags": [{"code": "variant_unchanged", "message": "the <quantizer> changed nothing"},
                                           "throttled: cpu0 capped"]})
    html = write_run_report(store, "user", tmp_path / "u").read_text()
    assert "seeded, untrained" not in html
    assert "quantizer changed nothing; throttled: cpu0 capped" in html  # labels; old string flags still read
    assert 'title="the &lt;quantizer&gt; changed nothing' in html
    store.create_run("mixed", [])
    _cell(store, "mixed", "vad", {"model_source": {"path": "/m/vad.onnx"}})
    _cell(store, "mixed", "image-resnet", {"model_source": {"builtin": "image-resnet"}})
    html = write_run_report(store, "mixed", tmp_path / "m").read_text()
    assert "Built-in workloads (image-resnet) are seeded, untrained models" in html
    store.create_run("old", [])
    _cell(store, "old", "image-resnet", {})  # stored before cells recorded their model's origin
    assert "Built-in workloads are seeded, untrained models" in write_run_report(store, "old", tmp_path / "o").read_text()


def test_a_run_page_stays_small_however_many_samples(tmp_path: Path) -> None:
    from harness.report.run_figures import DISPLAY_POINTS, display_points

    rng = np.random.default_rng(0)
    raw = rng.lognormal(0.0, 0.2, 200_000)
    shown = display_points(raw)
    assert len(shown) == DISPLAY_POINTS and shown[0] == raw.min() and shown[-1] == raw.max()
    assert abs(np.median(shown) - np.median(raw)) < 1e-3 * np.median(raw)
    store = Store(tmp_path / "s.db")
    store.create_run("big", [], build_id="b")
    for p in ("fp32", "fp16"):
        store.record_cell("big", CellRecord(
            f"d/w/{p}/cpu", "d", "w", p, "cpu", "ok",
            metrics=[MetricValue("latency_ms", float(np.median(raw)), "ms", "noisy", "perf_counter")],
            samples={"latency_ms": raw}))
    page = write_run_report(store, "big", tmp_path / "runs" / "big")
    assert page.stat().st_size < 200_000 and (tmp_path / "runs" / "plotly.min.js").is_file()
