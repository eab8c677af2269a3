"""`harness results`: whole run ids on any terminal, JSON and CSV for scripts, filters."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run

REPO = Path(__file__).resolve().parents[2]
RUN_IDS = ["20260101-020000-a1b2", "20260102-020000-c3d4", "20260103-020000-e5f6"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "runs.db")
    for i, run_id in enumerate(RUN_IDS):
        cells = (CellSpec(),) if i != 1 else (CellSpec(device="pi5", fingerprint="fp-pi5"),)
        record_run(s, run_id, cells=cells, created_at=f"2026-01-0{i + 1}T02:00:00+00:00", build_id=f"b-{i}")
    yield s
    s.close()


def results(store: Store, *args: str, **env: str) -> str:
    """`harness results` as its own process: what a terminal of that width (or a pipe) gets."""
    proc = subprocess.run([sys.executable, "-m", "harness", "results", "--store", store.url, *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def results_data(store: Store, *args: str) -> str:
    """JSON / CSV output, in process: no terminal involved, and a CLI start (~1.3 s CPU) saved per call."""
    res = CliRunner().invoke(app, ["results", "--store", store.url, *args])
    assert res.exit_code == 0, res.output
    return res.stdout


def test_json_lists_runs_newest_first_with_their_references(store: Store) -> None:
    rows = json.loads(results_data(store, "--format", "json"))
    assert [r["run_id"] for r in rows] == RUN_IDS[::-1]
    assert [r["ref"] for r in rows] == ["latest", "latest~1", "latest~2"]
    assert rows[1]["devices"] == ["pi5"] and rows[1]["cells"] == {"ok": 1} and rows[1]["build_id"] == "b-1"
    narrowed = json.loads(results_data(store, "--format", "json", "-d", "pixel", "-n", "1"))
    assert [(r["ref"], r["run_id"]) for r in narrowed] == [("latest", RUN_IDS[2])]
    assert json.loads(results_data(store, "--format", "json", "--kind", "nightly")) == []


def test_csv_is_one_row_per_run(store: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(results_data(store, "--format", "csv", "--build", "b-[01]"))))
    assert [r["run_id"] for r in rows] == RUN_IDS[1::-1] and rows[0]["cells"] == "ok=1"


@pytest.mark.parametrize("terminal", [{}, {"TTY_COMPATIBLE": "1"}], ids=["piped", "narrow-terminal"])
def test_the_table_prints_whole_ids_however_narrow(store: Store, terminal: dict[str, str]) -> None:
    out = results(store, COLUMNS="60", **terminal)
    for run_id in RUN_IDS:
        assert run_id in out, out


def test_an_unknown_format_is_a_usage_error(store: Store) -> None:
    proc = subprocess.run([sys.executable, "-m", "harness", "results", "--store", store.url, "--format", "yaml"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and "--format 'yaml'" in proc.stderr
