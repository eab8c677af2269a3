"""`harness history` over a synthetic nightly history: series, their σ_run, change points, alert sync."""

from __future__ import annotations

from harness.results.analysis_tables import load_alerts
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_history
from tests.commands.test_compare import harness


def test_history_lists_series_and_change_points_and_syncs_alerts(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "h.db")
    record_history(s, 12, cells=(CellSpec(), CellSpec(workload="bert")), levels={("pixel", "resnet"): {7: 1.15}})
    assert harness(monkeypatch, "history", "--store", s.url, "--metric", "latency_ms*", "--no-sync") == 0
    out = capsys.readouterr().out
    assert "night-007: x1.1" in out and "bert" in out and "σ_run" in out
    assert load_alerts(s) == []  # --no-sync only reads
    assert harness(monkeypatch, "history", "--store", s.url, "--metric", "latency_ms*") == 0
    assert "1 open regression alert(s)" in capsys.readouterr().out
    # the sync covers every series, not only those shown (a canary filtered out must still count)
    assert sorted((a.workload, a.metric, a.run_id) for a in load_alerts(s)) == [
        ("resnet", "latency_ms@b1", "night-007"), ("resnet", "tokens_per_s", "night-007")]
    assert harness(monkeypatch, "history", "--store", s.url, "--changes-only", "--workload", "b*") == 0
    assert "night-007" not in capsys.readouterr().out
    assert harness(monkeypatch, "history", "--store", tmp_path / "empty.db") == 0
    assert "no series" in capsys.readouterr().out
