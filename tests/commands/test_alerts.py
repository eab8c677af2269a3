"""`harness alerts` list / ack / invalidate / fix through the CLI."""

from __future__ import annotations

import re

from harness.results.analysis_tables import load_alerts
from harness.results.store import Store
from tests.analysis.synthetic import CellSpec, record_history
from tests.commands.test_compare import harness


def test_alert_commands(tmp_path, monkeypatch, capsys) -> None:
    s = Store(tmp_path / "a.db")
    cells = (CellSpec(), CellSpec(workload="canary"))
    record_history(s, 10, cells=cells, levels={("pixel", "resnet"): {6: 1.2}})  # a step holds 4 runs
    assert harness(monkeypatch, "alerts", "list", "--store", s.url, "--canary", "pixel=canary") == 0
    out = capsys.readouterr().out
    assert "suspected" in out and "night-006" in out
    ids = sorted({int(m) for m in re.findall(r"│\s+(\d+)\s+│", out)})
    assert ids
    assert harness(monkeypatch, "alerts", "ack", str(ids[0]), "--note", "known", "--store", s.url) == 0
    assert "suspected -> acknowledged" in capsys.readouterr().out
    assert harness(monkeypatch, "alerts", "confirm", str(ids[0]), "--store", s.url) == 2  # not allowed any more
    assert "cannot go from acknowledged to confirmed" in capsys.readouterr().err
    assert harness(monkeypatch, "alerts", "fix", str(ids[0]), "--store", s.url) == 0
    assert harness(monkeypatch, "alerts", "invalidate", "999", "--store", s.url) == 2
    states = {a.metric: a.state for a in load_alerts(s) if a.run_id == "night-006"}
    assert "fixed" in states.values()
    assert harness(monkeypatch, "alerts", "--bogus") == 2  # a usage error is exit 2, not a traceback
