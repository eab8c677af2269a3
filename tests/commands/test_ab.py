"""`harness ab` end to end on the local device with a tiny model and the agent's test-only slowdown knob."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.results.store import Store
from tests.commands.conftest import write_workload
from tests.commands.test_compare import harness


@pytest.fixture
def built(tmp_path: Path, tiny_workloads: Path, monkeypatch, capsys) -> tuple[str, Path]:
    write_workload(tiny_workloads, "[fp32]", min_seconds=0.05)
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    monkeypatch.setenv("COLUMNS", "200")
    assert harness(monkeypatch, "build", "--workloads-dir", tiny_workloads) == 0
    build_id = re.search(r"build (\S+):", capsys.readouterr().out).group(1)
    return build_id, tiny_workloads


@pytest.mark.slow
def test_ab_with_injected_slowdown_regresses(built, monkeypatch, capsys, tmp_path) -> None:
    build_id, workloads = built
    code = harness(monkeypatch, "ab", build_id, build_id, "--workloads-dir", workloads, "--device", "local",
                   "--rounds", "2", "--test-slowdown-b", "0.1", "--format", "json")
    captured = capsys.readouterr()
    assert code == 1, captured.err
    doc = json.loads(captured.out)
    lat = [r for r in doc["rows"] if r["metric"].startswith("latency_ms")]
    assert lat and all(r["verdict"] == "REGRESSED" for r in lat), [(r["metric"], r["verdict"], r["reason"]) for r in lat]
    assert all(r["n_a"] >= 40 for r in lat)  # two rounds pooled (>= 20 samples each)
    assert "round 2/2 A" in captured.err and "round 1/2 B" in captured.err
    store = Store()
    runs = store.list_runs()
    assert {r["kind"] for r in runs} == {"ab"} and len(runs) == 4
    sides = [r["labels"]["side"] for r in sorted(runs, key=lambda r: r["created_at"])]
    assert sides == ["A", "B", "B", "A"]  # rounds alternate the order


@pytest.mark.slow
def test_compare_real_runs_self_and_injected_slowdown(built, monkeypatch, capsys) -> None:
    build_id, workloads = built
    args = ("run", "--build", build_id, "--workloads-dir", workloads, "--device", "local", "--no-report")
    assert harness(monkeypatch, *args) == 0
    monkeypatch.setenv("HARNESS_TEST_SLOWDOWN", "0.1")  # the agent's test-only knob: +10 % per timed call
    assert harness(monkeypatch, *args) == 0
    base, slow = (r["run_id"] for r in sorted(Store().list_runs(), key=lambda r: r["created_at"]))
    capsys.readouterr()
    assert harness(monkeypatch, "compare", base, base, "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["verdict"] for r in rows} <= {"UNCHANGED", "INCONCLUSIVE"}
    assert harness(monkeypatch, "compare", base, slow, "--format", "json") == 1
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert all(r["verdict"] == "REGRESSED" for r in rows if r["metric"].startswith("latency_ms"))
