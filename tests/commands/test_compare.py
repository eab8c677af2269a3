"""`harness compare` end to end through the real CLI entry point (exit codes included)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.records import CalibratedNoise
from harness.results.analysis_tables import save_run_noise
from harness.results.exporters import RunBundle, export
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_run, record_runs

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
    """Build a: 4 runs; build b: 4 runs of the same; build c: 4 runs with resnet 10 % slower."""
    s = Store(tmp_path / "cmp.db")
    record_runs(s, "a", 4, run_sigma=0.02, cells=ONE, seed=1, build_id="build-a")
    record_runs(s, "b", 4, run_sigma=0.02, cells=ONE, seed=2, build_id="build-b")
    record_runs(s, "c", 4, run_sigma=0.02, cells=ONE, seed=3, shift={"resnet": 1.10}, build_id="build-c")
    yield s
    s.close()


def _lat(doc: dict, workload: str = "resnet") -> dict:
    return next(r for r in doc["rows"] if r["metric"] == "latency_ms@b1" and r["workload"] == workload)


def test_builds_with_several_runs_gate_a_slowdown(store, monkeypatch, capsys, tmp_path) -> None:
    assert harness(monkeypatch, "compare", "build-a", "build-b", "--store", store.url) == 0
    out = capsys.readouterr().out
    assert "4/4" in out and "estimated" in out and "REGRESSED" not in out
    md, js, page = tmp_path / "c.md", tmp_path / "c.json", tmp_path / "c.html"
    code = harness(monkeypatch, "compare", "build-a", "build-c", "--store", store.url, "--format", "markdown",
                   "--json", js, "--html", page, "--markdown", md)
    assert code == 1
    out = capsys.readouterr().out
    assert "**REGRESSED**" in out and out == md.read_text() and "| 4/4 |" in out
    doc = json.loads(js.read_text())
    assert doc["exit_code"] == 1 and doc["counts"]["REGRESSED"] == 2  # latency and tokens/s of resnet
    assert {r["workload"] for r in doc["rows"] if r["verdict"] == "REGRESSED"} == {"resnet"}
    lat = _lat(doc)
    assert (lat["runs_a"], lat["runs_b"], lat["sigma_source"]) == (4, 4, "estimated") and lat["mde"] > 0
    assert 'id="forest"' in page.read_text() and (tmp_path / "plotly.min.js").is_file()  # plotly.js beside it


def test_runs_listed_by_hand_and_one_run_per_side(store, monkeypatch, capsys) -> None:
    assert harness(monkeypatch, "compare", "a-0,a-1,a-2,a-3", "c-0,c-1,c-2,c-3", "--store", store.url,
                   "--format", "json") == 1
    assert _lat(json.loads(capsys.readouterr().out))["runs_a"] == 4
    assert harness(monkeypatch, "compare", "a-0,a-1,a-2", "c-0,c-1,c-2", "--store", store.url, "--format", "json") in (0, 1)
    lat = _lat(json.loads(capsys.readouterr().out))
    assert lat["runs_a"] == 3 and lat["verdict"] in ("REGRESSED", "INCONCLUSIVE")  # 3 runs: less certain, never wrong
    # one run each: σ_run from the history of the other runs (the baseline series), never a p from raw samples
    assert harness(monkeypatch, "compare", "a-0", "c-0", "--store", store.url, "--format", "json") in (0, 1)
    lat = _lat(json.loads(capsys.readouterr().out))
    assert (lat["runs_a"], lat["runs_b"], lat["sigma_source"]) == (1, 1, "history")
    assert harness(monkeypatch, "compare", "a-0", "a-0", "--store", store.url, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["verdict"] for r in rows if r["kind"] == "deterministic"} == {"UNCHANGED"}  # peak memory, by tolerance
    # one run a side is one heavy-tailed draw of the run offset: its interval is Student t with 3 dof, so a
    # 1.3 % history σ_run cannot show ±5 % equivalence (the row says how many runs would)
    assert {r["verdict"] for r in rows if r["kind"] == "noisy"} == {"INCONCLUSIVE"}


def test_usage_errors_and_incomparable_exit_2(store, monkeypatch, capsys, tmp_path) -> None:
    assert harness(monkeypatch, "compare", "a-0", "nope", "--store", store.url) == 2
    assert "not a run id, a build id" in capsys.readouterr().err
    assert harness(monkeypatch, "compare", "a-0,", "b-0", "--store", store.url) == 2
    assert harness(monkeypatch, "compare", "a-0", "b-0", "--store", store.url, "--format", "yaml") == 2
    record_run(store, "moved", cells=(CellSpec(fingerprint="fp-new"),), seed=3)
    assert harness(monkeypatch, "compare", "a-0", "moved", "--store", store.url) == 2
    bad = tmp_path / "th.yaml"
    bad.write_text("rules:\n  - metric: latency*\n    delta: fast\n")
    assert harness(monkeypatch, "compare", "a-0", "b-0", "--store", store.url, "--thresholds", bad) == 2
    assert "th.yaml:3" in capsys.readouterr().err


def test_config_change_is_incomparable_unless_allowed(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "cfg.db")
    ident = {"session": {"intra_op_num_threads": 2}, "provider": "CPUExecutionProvider", "runner": "python-agent"}
    record_run(s, "two", cells=ONE, result={"identity": ident})
    record_run(s, "one", cells=ONE, seed=1, result={"identity": {**ident, "session": {"intra_op_num_threads": 1}}})
    assert harness(monkeypatch, "compare", "two", "one", "--store", s.url, "--format", "json") == 2
    assert "configuration differs" in _lat(json.loads(capsys.readouterr().out))["reason"]
    assert harness(monkeypatch, "compare", "two", "one", "--store", s.url, "--format", "json",
                   "--allow-config-change") != 2
    assert any("configuration changed" in n for n in _lat(json.loads(capsys.readouterr().out))["notes"])


def test_strict_turns_inconclusive_into_3(tmp_path, monkeypatch) -> None:
    s = Store(tmp_path / "few.db")
    record_run(s, "a", cells=ONE, n=4, sigma=0.3)
    record_run(s, "b", cells=ONE, n=4, sigma=0.3, seed=9)
    assert harness(monkeypatch, "compare", "a", "b", "--store", s.url) == 0
    assert harness(monkeypatch, "compare", "a", "b", "--store", s.url, "--strict") == 3


def test_files_are_sources_and_calibration_applies_to_them(store, monkeypatch, capsys, tmp_path) -> None:
    js = export(RunBundle.load(store, "a-0"), "json", tmp_path / "a0.json")
    pb = export(RunBundle.load(store, "c-0"), "pytest-benchmark", tmp_path / "c0-pb.json")
    assert harness(monkeypatch, "compare", js, "b-0", "--store", store.url, "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] and {r["verdict"] for r in doc["rows"]} <= {"UNCHANGED", "INCONCLUSIVE"}
    # files carry the device fingerprint: a calibration in the store applies to them as to run ids
    save_run_noise(store, [CalibratedNoise("fp-pixel", "resnet", "fp32", "cpu", "latency_ms@b1", "pixel", sigma=0.004,
                                           low=0.003, high=0.007, df=9, n_runs=10, within=0.002)])
    by_file, by_id = [], []
    for a, b, out in ((js, pb, by_file), ("a-0", "c-0", by_id)):
        code = harness(monkeypatch, "compare", a, b, "--store", store.url, "--format", "json")
        doc = json.loads(capsys.readouterr().out)
        out.extend([code, _lat(doc)["verdict"], _lat(doc)["sigma_source"], doc["notes"]])
    assert by_file[:3] == by_id[:3] == [1, "REGRESSED", "calibrated"]
    assert any("calibration applied" in n for n in by_file[3])
    # two files and no store: nothing is created, and the output says no calibration applied
    js_c = export(RunBundle.load(store, "c-0"), "json", tmp_path / "c0.json")
    assert harness(monkeypatch, "compare", js, js_c, "--store", tmp_path / "absent" / "x.db", "--format", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert any("calibration not applied: no results store" in n for n in doc["notes"])
    assert not (tmp_path / "absent").exists()


def test_foreign_pytest_benchmark_files_several_per_side(tmp_path, monkeypatch, capsys) -> None:
    def doc(scale: float, wobble: float) -> dict:
        data = [scale * wobble * (1.0 + 0.01 * (i % 7)) for i in range(50)]
        return {"machine_info": {"node": "ci-box", "cpu": {"brand_raw": "x"}}, "commit_info": {"id": "abc"},
                "benchmarks": [{"name": "test_parse", "fullname": "tests/test_x.py::test_parse",
                                "stats": {"median": sorted(data)[25], "data": data}}],
                "datetime": "2026-01-01T00:00:00", "version": "5.1.0"}

    sides = []
    for name, scale in (("a", 0.010), ("b", 0.012)):
        paths = []
        for i, wobble in enumerate((1.0, 1.01, 0.99)):
            p = tmp_path / f"{name}{i}.json"
            p.write_text(json.dumps(doc(scale, wobble)))
            paths.append(str(p))
        sides.append(",".join(paths))
    assert harness(monkeypatch, "compare", *sides, "--format", "json") == 1
    row = json.loads(capsys.readouterr().out)["rows"][0]
    assert row["workload"] == "tests/test_x.py::test_parse" and row["metric"] == "time_s" and row["runs_a"] == 3


def test_malformed_files_and_crashes_exit_2_never_1(store, monkeypatch, capsys, tmp_path) -> None:
    good = export(RunBundle.load(store, "a-0"), "json", tmp_path / "good.json")
    doc = json.loads(good.read_text())
    doc["cells"][1]["metrics"][0]["value"] = "fast"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    assert harness(monkeypatch, "compare", good, bad) == 2
    assert "bad.json: cells[1].metrics[0].value: expected a number" in capsys.readouterr().err
    (tmp_path / "trunc.json").write_text(good.read_text()[:200])
    assert harness(monkeypatch, "compare", good, tmp_path / "trunc.json") == 2
    assert "trunc.json: cannot read a result file" in capsys.readouterr().err

    def boom(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("harness.views.compare.compare", boom)
    assert harness(monkeypatch, "compare", "build-a", "build-c", "--store", store.url) == 2  # not 1: a crash
    assert "ZeroDivisionError: a bug" in capsys.readouterr().err


def test_latest_and_latest_tilde_n_name_the_newest_runs(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "refs.db")
    record_run(s, "night-1", cells=ONE, seed=0, created_at="2026-01-01T02:00:00+00:00")
    record_run(s, "night-2", cells=ONE, seed=1, created_at="2026-01-02T02:00:00+00:00", shift={"resnet": 1.10})
    record_run(s, "other-device", cells=(CellSpec(device="pi5", fingerprint="fp-pi5"),), seed=2,
               created_at="2026-01-03T02:00:00+00:00")
    quiet = tmp_path / "quiet.yaml"  # synthetic runs have no run offsets: a quiet device, declared as such
    quiet.write_text("defaults: {run_noise: 0.005}\n")
    code = harness(monkeypatch, "compare", "latest~2", "latest~1", "--store", s.url, "--format", "json",
                   "--thresholds", quiet)
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and "night-1" in doc["a"] and "night-2" in doc["b"]
    # -d narrows what latest counts: the pi5 run is skipped
    code = harness(monkeypatch, "compare", "latest~1", "latest", "-d", "pixel", "--store", s.url, "--format", "json",
                   "--thresholds", quiet)
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and "night-1" in doc["a"] and "night-2" in doc["b"]
    assert harness(monkeypatch, "compare", "latest~3", "latest", "--store", s.url) == 2
    assert "latest~3: only 3 run(s)" in capsys.readouterr().err
