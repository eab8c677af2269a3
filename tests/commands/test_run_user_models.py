"""`harness run` on users' own odd models, from a folder of the user's own: files land at one
home, flags sit beside the cells, every cell carries its identity, the exit code says what failed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from harness.results.store import Store
from tests.odd_models import VAD_WORKLOAD, conv_net, stateful_vad

DEVICE = "name: here\ntransport: {{kind: local, workdir: {workdir}}}\nbackends: [{{name: cpu, provider: CPUExecutionProvider}}]\n"


def harness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=900)


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """A user's folder with devices/ and workloads/ (the VAD model), and a conv net elsewhere."""
    home = tmp_path / "home"
    (home / "devices").mkdir(parents=True)
    (home / "workloads").mkdir()
    (home / "devices" / "here.yaml").write_text(DEVICE.format(workdir=tmp_path / "device"))
    stateful_vad(home / "workloads" / "vad.onnx")
    (home / "workloads" / "vad.yaml").write_text(VAD_WORKLOAD.format(precisions="[fp32, int8, int8-static]"))
    elsewhere = tmp_path / "elsewhere"
    conv_net(elsewhere / "conv.onnx", opset=11)
    (elsewhere / "conv11.yaml").write_text(
        "name: conv11\nkind: generic\nmodel: {path: conv.onnx}\ninputs: [{name: x, shape: [N, 3, 16, 16]}]\n"
        "precisions: [fp32, int8-static]\n"
        "measure: {warmup: 1, warmup_s: 0, min_iterations: 10, min_seconds: 0.05, max_seconds: 1}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_STORE", "HARNESS_BUILDS", "HARNESS_HOME")}
    env["COLUMNS"] = "250"
    return home, elsewhere / "conv11.yaml", env


@pytest.mark.slow
def test_users_models_run_with_flags_identity_and_one_home(home: tuple[Path, Path, dict[str, str]]) -> None:
    root, conv_file, env = home
    proc = harness("run", "-w", "vad", "-w", str(conv_file), cwd=root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout.replace("\n", "")
    store = Store(root / "results" / "harness.db")
    run_id = store.list_runs()[0]["run_id"]
    report = root / "reports" / "runs" / run_id / "index.html"
    assert f"results {store.shown}" in out and f"report {report.parent}" in out and f"build {root / 'builds'}" in out, out[:600]
    assert report.is_file() and any((root / "builds").iterdir())
    cells = store.cells_frame([run_id]).set_index("cell_key")
    assert cells["status"].to_dict() == {f"here/{w}/{p}/cpu": "ok" for w, ps in
                                         (("vad", ("fp32", "int8", "int8-static")), ("conv11", ("fp32", "int8-static")))
                                         for p in ps}
    results = {key: json.loads(r) for key, r in cells["result_json"].items()}
    for key, result in results.items():
        assert result["identity"] == {"session": {"intra_op_num_threads": None, "inter_op_num_threads": None,
                                                  "allow_spinning": None, "graph_optimization_level": "all"},
                                      "provider": "CPUExecutionProvider", "provider_options": {},
                                      "runner": "python-agent"}, key
        assert result["model_source"]["path"].endswith(".onnx")
    codes = {key: {f["code"] for f in r["flags"]} for key, r in results.items()}
    assert "variant_unchanged" in codes["here/vad/int8/cpu"] and "variant_unchanged" in codes["here/vad/int8-static/cpu"]
    assert not any("variant_unchanged" in codes[k] for k in codes if "conv11" in k or "fp32" in k)
    assert "quantizer changed nothing" in proc.stdout  # beside the cell in the summary
    m = store.metrics_frame([run_id])
    contention = m[m["metric"] == "host_contention_cores"]
    assert len(contention) == 5 and set(contention["kind"]) == {"info"} and set(contention["unit"]) == {"cores"}
    assert set(m.loc[m["metric"] == "peak_rss_mb", "method"]) == {"VmHWM (measured session only)"}
    html = report.read_text()
    assert "quantizer changed nothing" in html and "seeded, untrained" not in html
    csv = root / "run.csv"
    assert harness("export", run_id, "--format", "csv", "--out", str(csv), cwd=root, env=env).returncode == 0
    tidy = pd.read_csv(csv)
    vad_int8 = tidy[(tidy["workload"] == "vad") & (tidy["precision"] == "int8")]
    assert vad_int8["flags"].str.contains("quantizer changed nothing").all()


@pytest.mark.slow
def test_run_exits_1_when_cells_failed(home: tuple[Path, Path, dict[str, str]], tmp_path: Path) -> None:
    root, conv_file, env = home
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEVICE.format(workdir=tmp_path / "device").replace("name: here", "name: broken")
                      + "runner: {kind: python, interpreter: /bin/false}\n")
    proc = harness("run", "-d", str(broken), "-w", str(conv_file), "-p", "fp32", "--no-report", cwd=root, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "exit 1: 1 failed of 1 cells" in proc.stdout
