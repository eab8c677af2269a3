"""`harness run` end to end on the local device: store rows, report, resume after SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.commands.conftest import write_workload
from tests.harness_cli import isolated_env

REPO = Path(__file__).resolve().parents[2]


def harness(*args: str, env: dict[str, str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=600, **kw)  # type: ignore[call-overload]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return isolated_env(tmp_path, local_workdir="device", columns=200)


@pytest.mark.slow
def test_run_stores_every_cell_and_writes_a_report(tmp_path: Path, tiny_workloads: Path, env: dict[str, str]) -> None:
    proc = harness("run", "--workloads-dir", str(tiny_workloads), "--report-dir", str(tmp_path / "report"), env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"report: {tmp_path / 'report' / 'index.html'}" in proc.stdout.replace("\n", "")
    store = Store(env["HARNESS_STORE"])
    run = store.list_runs()[0]
    cells = store.cells_frame([run["run_id"]])
    assert sorted(cells["precision"]) == ["fp16", "fp32", "int8"]
    assert set(cells["status"]) == {"ok"}, cells[["precision", "status", "error"]]
    m = store.metrics_frame([run["run_id"]])
    fp16 = m[(m["precision"] == "fp16")].set_index("metric")["value"]
    assert 0 < fp16["rel_l2"] < 1e-2  # fp16 error is real and small
    assert fp16["latency_ms@b1"] > 0 and fp16["peak_rss_mb"] > 0
    assert set(cells["ep_used"]) == {"CPUExecutionProvider"}
    assert cells["device_fingerprint"].nunique() == 1
    html = (tmp_path / "report" / "index.html").read_text()
    assert "tiny-mlp" in html and "Plotly.newPlot" in html
    # a second run of the same build sends no artifact bytes again
    proc2 = harness("run", "--workloads-dir", str(tiny_workloads), "--no-report", env=env)
    assert proc2.returncode == 0, proc2.stderr
    assert "local: 0 bytes in 0 files" in proc2.stdout
    # the cost line: from the measure settings the first time, from the first run's cells the second
    assert "plan: 3 cells (local 3); estimated wall time" in proc.stdout and "from the measure settings" in proc.stdout
    assert "(from earlier runs of these cells)" in proc2.stdout


@pytest.mark.slow
def test_budget_breach_is_accuracy_fail_not_a_crash(tmp_path: Path, tiny_workloads: Path, env: dict[str, str]) -> None:
    text = (tiny_workloads / "tiny.yaml").read_text().replace("fp16: {rel_l2: 0.01}", "fp16: {rel_l2: 1.0e-9}")
    (tiny_workloads / "tiny.yaml").write_text(text)
    proc = harness("run", "--workloads-dir", str(tiny_workloads), "-p", "fp16", "--no-report", env=env)
    assert proc.returncode == 3, proc.stdout + proc.stderr  # measured, but a budget missed: not a crash (1)
    assert "exit 3: 1 accuracy_fail of 1 cells" in proc.stdout
    cells = Store(env["HARNESS_STORE"]).cells_frame()
    assert list(cells["status"]) == ["accuracy_fail"]
    assert "rel_l2" in cells["error"].iloc[0]
    flags = json.loads(cells["result_json"].iloc[0])["flags"]
    assert [f["code"] for f in flags if f["code"] == "budget_missed"] == ["budget_missed"]


@pytest.mark.slow
def test_sigkill_then_resume_completes_without_duplicates(
    tmp_path: Path, tiny_workloads: Path, env: dict[str, str]
) -> None:
    write_workload(tiny_workloads, "[fp32, fp16, int8, int8-static]", min_seconds=0.6)
    # build first so the kill lands during measurement, not during the build
    assert harness("build", "--workloads-dir", str(tiny_workloads), env=env).returncode == 0
    store = Store(env["HARNESS_STORE"])
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", "--workloads-dir", str(tiny_workloads),
                             "--no-report"], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        runs = store.list_runs()
        if runs and len(store.done_cell_keys(runs[0]["run_id"])) >= 2:
            break
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    run_id = store.list_runs()[0]["run_id"]
    done_before = store.done_cell_keys(run_id)
    assert 2 <= len(done_before) < 4, "the kill must land mid-run"
    before = store.cells_frame([run_id]).set_index("cell_key")["finished_at"].to_dict()
    resumed = harness("run", "--resume", run_id, "--no-report", env=env)
    assert resumed.returncode == 0, resumed.stderr
    cells = store.cells_frame([run_id])
    assert len(cells) == 4 and cells["cell_key"].is_unique
    assert set(cells["status"]) == {"ok"}
    after = cells.set_index("cell_key")["finished_at"].to_dict()
    assert all(after[k] == before[k] for k in done_before), "finished cells must not be re-run"
    assert store.get_run(run_id)["status"] == "finished"
