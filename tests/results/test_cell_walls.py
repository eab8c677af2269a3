"""Earlier wall times of the same cells: ok cells only, newest first, never stretched runs."""

from __future__ import annotations

from pathlib import Path

from harness.records import CellRecord
from harness.results.cell_walls import earlier_walls
from harness.results.store import Store


def _cell(store: Store, run: str, precision: str, wall: float, status: str = "ok") -> None:
    store.record_cell(run, CellRecord(f"local/w/{precision}/cpu", "local", "w", precision, "cpu", status, wall_s=wall))


def test_recent_ok_walls_of_the_same_cells(tmp_path: Path) -> None:
    s = Store(tmp_path / "w.db")
    for i in range(7):
        s.create_run(f"r{i}", [])
        _cell(s, f"r{i}", "fp32", float(i))
    _cell(s, "r6", "int8", 99.0, status="failed")
    s.create_run("soak", [], kind="sustained")
    _cell(s, "soak", "fp32", 600.0)
    got = earlier_walls(s, [("local", "w", "fp32", "cpu"), ("local", "w", "int8", "cpu"), ("pi5", "w", "fp32", "cpu")],
                        recent=3)
    assert got == {("local", "w", "fp32", "cpu"): [6.0, 5.0, 4.0]}
    assert earlier_walls(s, []) == {}
