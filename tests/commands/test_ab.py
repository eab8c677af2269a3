"""`harness ab` end to end on the local device with a tiny model and the agent's test-only slowdown knob."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harness.records import CalibratedNoise
from harness.results.analysis_tables import save_run_noise
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
def test_ab_pairs_rounds_and_states_its_evidence(built, monkeypatch, capsys, tmp_path) -> None:
    build_id, workloads = built
    store = Store()
    save_run_noise(store, [CalibratedNoise("fp-x", "tiny-mlp", "fp32", "cpu", "latency_ms@b1", "local", sigma=0.03,
                                           low=0.02, high=0.05, df=9, n_runs=10, within=0.005)])
    code = harness(monkeypatch, "ab", build_id, build_id, "--workloads-dir", workloads, "--device", "local",
                   "--rounds", "3", "--test-slowdown-b", "0.1", "--format", "json")
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err  # REGRESSED or not yet decided: never incomparable, never a crash
    assert re.search(r"local: calibrated σ_run 3\.0 % \(median of 1 series\): \d+ rounds detect ±5%", captured.err)
    doc = json.loads(captured.out)
    lat = [r for r in doc["rows"] if r["metric"].startswith("latency_ms")]
    assert lat
    for r in lat:
        assert r["paired"] and r["runs_a"] == r["runs_b"] == 3 and r["sigma_source"] == "estimated"
        assert r["ratio"] > 1.04  # +10 % was injected into B
        assert r["verdict"] in ("REGRESSED", "INCONCLUSIVE"), r
        if r["verdict"] == "INCONCLUSIVE":
            assert re.search(r"about \d+ rounds \(\d+ more\) would decide it", r["reason"]) or "edge" in r["reason"] \
                or "differ in contention" in r["reason"]  # a busy neighbour on one side: issue 22's rule
    assert (code == 1) == any(r["verdict"] == "REGRESSED" for r in doc["rows"])
    assert "round 3/3 A" in captured.err and "round 1/3 B" in captured.err
    runs = store.list_runs()
    assert {r["kind"] for r in runs} == {"ab"} and len(runs) == 6
    sides = [r["labels"]["side"] for r in sorted(runs, key=lambda r: r["created_at"])]
    assert sides == ["A", "B", "B", "A", "A", "B"]  # A B | B A | A B


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
    # the knob sleeps per call, so on a microsecond model the step is many times over: decided even with one
    # run per side at the assumed run-to-run noise, which every row names; two runs of one config are
    # never INCOMPARABLE (method strings no longer carry sample counts or stop reasons)
    assert harness(monkeypatch, "compare", base, slow, "--format", "json") == 1
    rows = json.loads(capsys.readouterr().out)["rows"]
    lat = [r for r in rows if r["metric"].startswith("latency_ms")]
    assert lat and all(r["verdict"] == "REGRESSED" and r["sigma_source"] == "assumed" and r["runs_a"] == 1
                       for r in lat)
    assert "INCOMPARABLE" not in {r["verdict"] for r in rows}
