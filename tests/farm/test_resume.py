"""SIGKILL the nightly orchestrator mid-night, then `--resume`: exactly the missing cells run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.results.store import Store
from tests.farm.conftest import local_profile, write_farm

REPO = Path(__file__).resolve().parents[2]


def _two_backends(path: Path) -> Path:
    data = yaml.safe_load(path.read_text())
    data["backends"] = [{"name": "cpu", "provider": "CPUExecutionProvider"},
                        {"name": "cpu-b", "provider": "CPUExecutionProvider"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _nightly(farm: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "harness", "nightly", str(farm), "--night", "2026-02-02", "--no-publish", *args]


@pytest.mark.slow
def test_sigkill_mid_night_then_resume_runs_exactly_the_missing_cells(tmp_path: Path, farm_build) -> None:
    farm = write_farm(tmp_path, farm_build, [
        {"profile": str(_two_backends(local_profile(tmp_path, "host-a")))},
        {"profile": str(_two_backends(local_profile(tmp_path, "host-b")))},
    ])
    env = {**os.environ, "COLUMNS": "200"}
    store = Store(tmp_path / "store.db")
    proc = subprocess.Popen(_nightly(farm), cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    done_before: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        runs = store.list_runs()
        if runs:
            done_before = store.done_cell_keys(runs[0]["run_id"])
            if len(done_before) >= 3:
                break
        time.sleep(0.05)
    assert proc.poll() is None, f"the night ended before the kill: {proc.stderr.read() if proc.stderr else ''}"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    run_id = store.list_runs()[0]["run_id"]
    at_kill = store.done_cell_keys(run_id)
    assert 3 <= len(at_kill) < 8 and store.get_run(run_id)["status"] == "running"
    ids_at_kill = dict(zip(*(store.cells_frame([run_id])[c] for c in ("cell_key", "id")), strict=True))

    out = subprocess.run(_nightly(farm, "--resume"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"resuming night 2026-02-02 (run {run_id}, shard 1/1): {8 - len(at_kill)} missing cell(s)" in out.stdout

    cells = store.cells_frame([run_id])
    assert len(cells) == 8 and cells["cell_key"].is_unique  # nothing lost, nothing twice
    assert set(cells["status"]) == {"ok"}, cells[["cell_key", "status", "error"]]
    ids = dict(zip(cells["cell_key"], cells["id"], strict=True))
    assert {k: ids[k] for k in at_kill} == ids_at_kill  # cells stored before the kill were not run again
    assert {k for k, i in ids.items() if i > max(ids_at_kill.values())} == set(ids) - at_kill
    assert store.get_run(run_id)["status"] == "finished"
    assert store.list_runs()[0]["run_id"] == run_id  # no second run: the same night was completed
    # nothing left to resume now
    again = subprocess.run(_nightly(farm, "--resume"), cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "no unfinished night to resume" in again.stdout


@pytest.mark.slow
def test_a_second_orchestrator_never_drives_a_busy_device(tmp_path: Path, farm_build) -> None:
    from harness.config.farm import load_farm
    from harness.farm.night import run_night

    device = _two_backends(local_profile(tmp_path, "shared-1"))
    first = write_farm(tmp_path, farm_build, [{"profile": str(device)}])
    store = Store(tmp_path / "store.db")
    proc = subprocess.Popen(_nightly(first), cwd=REPO, env={**os.environ, "COLUMNS": "200"},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        runs = store.list_runs()
        if runs and store.done_cell_keys(runs[0]["run_id"]):
            break  # the first orchestrator holds the device and is measuring
        time.sleep(0.05)
    other = tmp_path / "other"
    other.mkdir()
    cfg = load_farm(write_farm(other, farm_build, [{"profile": str(device)}], name="other-farm", publish_dir=None))
    res = run_night(cfg, Store(cfg.store_url()), night="2026-02-02")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, out
    assert res is not None and res.outcome is not None and not res.outcome.statuses.get("ok")
    (check,) = res.preflight
    assert not check.ok and "busy" in check.reason and "harness run" in check.reason
    mine = store.cells_frame([store.list_runs()[0]["run_id"]])
    assert len(mine) == 4 and set(mine["status"]) == {"ok"}  # the first night was not disturbed
