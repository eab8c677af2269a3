"""`harness compare` end to end through the real CLI entry point (exit codes included)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.results.exporters import RunBundle, export
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run

ONE = (CellSpec(), CellSpec(workload="bert"))


def harness(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["harness", *map(str, args)])
    with pytest.raises(SystemExit) as exc:
        main()
        raise SystemExit(0)
    return int(exc.value.code or 0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "cmp.db")
    record_run(s, "base", cells=ONE, seed=0)
    record_run(s, "same", cells=ONE, seed=1, build_id="build-b")
    record_run(s, "slow", cells=ONE, seed=2, shift={"resnet": 1.10}, build_id="build-c")
    yield s
    s.close()


def test_self_compare_exits_0_and_slowdown_exits_1(store, monkeypatch, capsys, tmp_path) -> None:
    assert harness(monkeypatch, "compare", "base", "base", "--store", store.url) == 0
    assert "UNCHANGED" in capsys.readouterr().out
    md, js, page = tmp_path / "c.md", tmp_path / "c.json", tmp_path / "c.html"
    code = harness(monkeypatch, "compare", "build-a", "build-c", "--store", store.url, "--format", "markdown",
                   "--json", js, "--html", page, "--markdown", md)
    assert code == 1
    out = capsys.readouterr().out
    assert "**REGRESSED**" in out and out == md.read_text()
    doc = json.loads(js.read_text())
    assert doc["exit_code"] == 1 and doc["counts"]["REGRESSED"] == 2  # latency and tokens/s of resnet
    assert {r["workload"] for r in doc["rows"] if r["verdict"] == "REGRESSED"} == {"resnet"}
    assert 'id="forest"' in page.read_text() and (tmp_path / "plotly.min.js").is_file()  # plotly.js beside it


def test_usage_errors_and_incomparable_exit_2(store, monkeypatch, capsys, tmp_path) -> None:
    assert harness(monkeypatch, "compare", "base", "nope", "--store", store.url) == 2
    assert "not a run id, a build id" in capsys.readouterr().err
    assert harness(monkeypatch, "compare", "base", "same", "--store", store.url, "--format", "yaml") == 2
    record_run(store, "moved", cells=(CellSpec(fingerprint="fp-new"),), seed=3)
    assert harness(monkeypatch, "compare", "base", "moved", "--store", store.url) == 2
    bad = tmp_path / "th.yaml"
    bad.write_text("rules:\n  - metric: latency*\n    delta: fast\n")
    assert harness(monkeypatch, "compare", "base", "same", "--store", store.url, "--thresholds", bad) == 2
    assert "th.yaml:3" in capsys.readouterr().err


def test_strict_turns_inconclusive_into_3(tmp_path, monkeypatch) -> None:
    s = Store(tmp_path / "few.db")
    record_run(s, "a", cells=ONE, n=4, sigma=0.3)
    record_run(s, "b", cells=ONE, n=4, sigma=0.3, seed=9)
    assert harness(monkeypatch, "compare", "a", "b", "--store", s.url) == 0
    assert harness(monkeypatch, "compare", "a", "b", "--store", s.url, "--strict") == 3


def test_exported_json_and_pytest_benchmark_files_are_sources(store, monkeypatch, capsys, tmp_path) -> None:
    bundle = RunBundle.load(store, "base")
    js = export(bundle, "json", tmp_path / "base.json")
    pb = export(bundle, "pytest-benchmark", tmp_path / "base-pb.json")
    assert harness(monkeypatch, "compare", js, "base", "--store", store.url, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert rows and {r["verdict"] for r in rows} <= {"UNCHANGED", "INCONCLUSIVE"}
    assert harness(monkeypatch, "compare", pb, "slow", "--store", store.url, "--format", "json") == 1
    doc = json.loads(capsys.readouterr().out)
    lat = [r for r in doc["rows"] if r["metric"] == "latency_ms@b1" and r["workload"] == "resnet"]
    assert lat[0]["verdict"] == "REGRESSED"
    # two files: no store needed at all
    assert harness(monkeypatch, "compare", pb, pb, "--store", tmp_path / "absent" / "x.db") == 0
    assert not (tmp_path / "absent").exists()


def test_foreign_pytest_benchmark_file(tmp_path, monkeypatch, capsys) -> None:
    def doc(scale: float) -> dict:
        data = [scale * (1.0 + 0.01 * (i % 7)) for i in range(50)]
        return {"machine_info": {"node": "ci-box", "cpu": {"brand_raw": "x"}}, "commit_info": {"id": "abc"},
                "benchmarks": [{"name": "test_parse", "fullname": "tests/test_x.py::test_parse",
                                "stats": {"median": sorted(data)[25], "data": data}}],
                "datetime": "2026-01-01T00:00:00", "version": "5.1.0"}

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(doc(0.010)))
    b.write_text(json.dumps(doc(0.012)))
    assert harness(monkeypatch, "compare", a, b, "--format", "json") == 1
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["workload"] == "tests/test_x.py::test_parse" and row["metric"] == "time_s"


def test_latest_and_latest_tilde_n_name_the_newest_runs(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "refs.db")
    record_run(s, "night-1", cells=ONE, seed=0, created_at="2026-01-01T02:00:00+00:00")
    record_run(s, "night-2", cells=ONE, seed=1, created_at="2026-01-02T02:00:00+00:00", shift={"resnet": 1.10})
    record_run(s, "other-device", cells=(CellSpec(device="pi5", fingerprint="fp-pi5"),), seed=2,
               created_at="2026-01-03T02:00:00+00:00")
    code = harness(monkeypatch, "compare", "latest~2", "latest~1", "--store", s.url, "--format", "json")
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and "night-1" in doc["a"] and "night-2" in doc["b"]
    # -d narrows what latest counts: the pi5 run is skipped
    code = harness(monkeypatch, "compare", "latest~1", "latest", "-d", "pixel", "--store", s.url, "--format", "json")
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and "night-1" in doc["a"] and "night-2" in doc["b"]
    assert harness(monkeypatch, "compare", "latest~3", "latest", "--store", s.url) == 2
    assert "latest~3: only 3 run(s)" in capsys.readouterr().err
