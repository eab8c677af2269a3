"""A runner that rewrites its own result.json, over the local transport and the adbd rig: the run
finishes, every lying cell fails naming what was wrong, honest cells are ok, the host's disk is
untouched (the 8 GiB files and /dev/zero are never pulled) and markup stays text."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.results.store import Store
from tests.hardening.conftest import REPO, hostile_backends, hostile_interpreter, write_workloads
from tests.hardening.hostile_runner import ALL_MODES

# what each lying cell's error must say (the field, or why the file was refused)
EXPECTED = {
    "ok": None,
    "markupok": None,  # odd names are data, stored and shown as text
    "nan": "series.",
    "negative": "greater than 0",
    "huge": "more than the job's stopping rule allows",
    "types": "series.",
    "zero": "not a regular file",
    "devpath": "field outputs",
    "sparse": "limit",
    "markup": "<script>alert('x')</script>",
    "notjson": "not JSON",
    "bigjson": "limit",
    "fifo": "not a regular file",
}
MAX_HOST_GROWTH = 2 << 30  # far below one pulled 8 GiB file; a /dev/zero pull would pass it in seconds


def _run_hostile(tmp_path: Path, env: dict[str, str], device: dict, *, no_report: bool = False) -> tuple[str, Store]:
    device = {**device, "runner": {"kind": "python", "interpreter": str(hostile_interpreter(tmp_path))},
              "backends": hostile_backends(ALL_MODES)}
    profile = tmp_path / "hostile.yaml"
    profile.write_text(yaml.safe_dump(device, sort_keys=False))
    wl = write_workloads(tmp_path / "workloads")
    free_before = shutil.disk_usage(tmp_path).free
    res = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(profile), "--workloads-dir", str(wl),
                          "--report-dir", str(tmp_path / "report"), *(["--no-report"] if no_report else [])],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert res.returncode == 1, res.stdout[-3000:] + res.stderr[-3000:]  # 1: cells failed (the run itself finished)
    assert free_before - shutil.disk_usage(tmp_path).free < MAX_HOST_GROWTH
    store = Store(env["HARNESS_STORE"])
    assert (Path(env["HARNESS_STORE"]).stat().st_size) < 50 << 20
    return res.stdout, store


def _check_cells(store: Store) -> None:
    run = store.list_runs()[0]
    assert run["status"] == "finished"
    cells = store.cells_frame([run["run_id"]]).set_index("backend")
    assert sorted(cells.index) == sorted(ALL_MODES)
    for mode, want in EXPECTED.items():
        status, error = cells.loc[mode, "status"], cells.loc[mode, "error"] or ""
        if want is None:
            assert status == "ok", (mode, error)
        else:
            assert status == "failed" and want in error, (mode, status, error)
    invalid = cells.loc["negative", "result_json"]
    assert '"invalid_result"' in invalid and '"field": "series.' in invalid  # the field is stored, not only said


@pytest.mark.slow
def test_a_lying_runner_over_the_local_transport(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    from tests.hardening.conftest import local_device

    out, store = _run_hostile(tmp_path, cli_env, local_device(tmp_path, "liar"))
    _check_cells(store)
    assert "[/][bold red]boom[/]" in out  # printed as the text it is, not parsed as markup
    page = (tmp_path / "report" / "index.html").read_text()
    assert "<script>alert(" not in page and "<i>x</i>" not in page  # escaped in HTML


@pytest.mark.slow
@pytest.mark.rig
def test_a_lying_runner_over_the_adbd_rig(tmp_path: Path, cli_env, adb_device_yaml: Path) -> None:  # type: ignore[no-untyped-def]
    device = yaml.safe_load(adb_device_yaml.read_text())
    device["name"] = "liar-adb"
    env = {**cli_env}
    import os

    env["ADBUTILS_ADB_PATH"] = os.environ["ADBUTILS_ADB_PATH"]
    _out, store = _run_hostile(tmp_path, env, device, no_report=True)
    _check_cells(store)
