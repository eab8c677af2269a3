"""`harness results` and `harness export` in every format, on a store with real rows."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.records import CellRecord, MetricValue
from harness.results.store import Store

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.db")
    s.create_run("r1", [], build_id="b1")
    for p, med in (("fp32", 2.0), ("int8", 1.0)):
        s.record_cell("r1", CellRecord(
            f"local/w/{p}/cpu", "local", "w", p, "cpu", "ok", device_fingerprint="fp", build_id="b1",
            metrics=[MetricValue("latency_ms@b1", med, "ms", "noisy", "perf_counter"),
                     MetricValue("peak_rss_mb", 90.0, "MB", "deterministic", "VmHWM"),
                     MetricValue("rel_l2", 0.0 if p == "fp32" else 0.03, "", "deterministic", "vs fp32 host CPU")],
            samples={"latency_ms@b1": np.full(30, med)}))
    s.record_cell("r1", CellRecord("local/w/int4/cpu", "local", "w", "int4", "cpu", "skipped",
                                   error="device local does not run int4 | (reason)"))
    s.finish_run("r1")
    return s


def test_results_lists_runs(store: Store) -> None:
    res = runner.invoke(app, ["results", "--store", store.url], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "r1" in res.output and "2 ok" in res.output and "1 skipped" in res.output


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet", "markdown", "pytest-benchmark"])
def test_export_formats(store: Store, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"r1.{fmt}"
    res = runner.invoke(app, ["export", "r1", "--format", fmt, "--out", str(out), "--store", store.url])
    assert res.exit_code == 0, res.output
    if fmt == "csv":
        df = pd.read_csv(out)
        assert set(df["precision"]) == {"fp32", "int8", "int4"}
        assert df.loc[(df["precision"] == "int8") & (df["metric"] == "rel_l2"), "value"].item() == 0.03
    elif fmt == "parquet":
        assert len(pd.read_parquet(out)) == 2 * 3 + 1
    elif fmt == "json":
        doc = json.loads(out.read_text())
        cell = next(c for c in doc["cells"] if c["precision"] == "int8")
        assert cell["samples"]["latency_ms@b1"] == [1.0] * 30 and doc["run"]["run_id"] == "r1"
    elif fmt == "markdown":
        text = out.read_text()
        assert "| local | w | int8 | cpu | latency_ms@b1 | 1.00 ms |" in text  # a duration says its unit
        assert "does not run int4 \\| (reason)" in text  # pipes in user text are escaped
    else:
        doc = json.loads(out.read_text())
        assert len(doc["benchmarks"]) == 2


def test_export_unknown_format_is_a_usage_error(store: Store) -> None:
    res = runner.invoke(app, ["export", "r1", "--format", "xml", "--store", store.url])
    assert res.exit_code != 0


def test_export_names_runs_by_reference(store: Store, tmp_path: Path) -> None:
    store.create_run("r2", [{"device": "pi5", "workload": "w", "key": "pi5/w/fp32/cpu"}], build_id="b2")
    for ref, narrow, want in (("latest", [], "r2"), ("latest~1", [], "r1"), ("latest", ["-d", "local"], "r1")):
        out = tmp_path / f"{ref}.json"
        res = runner.invoke(app, ["export", ref, *narrow, "--format", "json", "--out", str(out), "--store", store.url])
        assert res.exit_code == 0, res.output
        assert json.loads(out.read_text())["run"]["run_id"] == want
