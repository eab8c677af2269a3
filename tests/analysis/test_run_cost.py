"""A run's cost before it starts and its ETA while it runs (pure arithmetic, times passed in)."""

from __future__ import annotations

import pytest

from harness.analysis.run_cost import CELL_SETUP_S, Eta, cell_cost, describe, duration, run_cost, settings_floor_s


def test_history_wins_over_settings_but_never_below_their_floor() -> None:
    floor = settings_floor_s(windows=2, warmup_s=0.2, min_seconds=1.0)
    assert floor == pytest.approx(2.4)
    assert cell_cost("k", "d", floor, []) == cell_cost("k", "d", floor, ())
    assert cell_cost("k", "d", floor, []).seconds == pytest.approx(2.4 + CELL_SETUP_S)
    assert cell_cost("k", "d", floor, [3.0, 9.0, 4.0]).seconds == 4.0  # median of earlier runs
    assert cell_cost("k", "d", floor, [3.0, 5.0]).seconds == 4.0
    grown = cell_cost("k", "d", settings_floor_s(2, 0.2, 10.0), [3.0])  # settings grew since
    assert grown.seconds == pytest.approx(20.4) and grown.source == "history"


def test_devices_run_in_parallel_so_the_slowest_device_is_the_run() -> None:
    cells = [cell_cost(f"a{i}", "pixel", 1.0, [10.0]) for i in range(3)] + [cell_cost("b", "pi5", 1.0, [])]
    cost = run_cost(cells)
    assert cost.per_device == {"pixel": (3, 30.0), "pi5": (1, 1.0 + CELL_SETUP_S)}
    assert cost.seconds == 30.0 and cost.from_history == 3
    line = describe(cost)
    assert line.startswith("4 cells (pi5 1, pixel 3); estimated wall time ≈ 30 s")
    assert "3 cells from earlier runs, 1 from the measure settings, which do not bound every cell's work" in line
    assert "(from the measure settings, which do not bound every cell's work; no earlier runs" in describe(
        run_cost(cells[3:]))
    assert describe(run_cost(cells[:1])).endswith("(from earlier runs of these cells)")
    assert describe(run_cost([])) == "no cell left to run"


def test_eta_counts_down_and_learns_from_finished_cells() -> None:
    eta = Eta([cell_cost(f"c{i}", "d", 1.0, [10.0]) for i in range(3)])
    assert eta.remaining_s(0.0) == 30.0
    eta.started("d", "c0", 0.0)
    assert eta.remaining_s(4.0) == 26.0
    eta.finished("d", "c0", 20.0)  # took twice its estimate: the rest will too
    assert eta.remaining_s(20.0) == 40.0
    eta.started("d", "c1", 20.0)
    assert eta.remaining_s(25.0) == 35.0
    assert eta.remaining_s(100.0) == 20.0  # an overrunning cell counts as done, never negative
    eta.device_done("d")
    assert eta.remaining_s(100.0) == 0.0


def test_eta_correction_is_bounded_and_per_device() -> None:
    eta = Eta([cell_cost("a0", "fast", 1.0, [10.0]), cell_cost("a1", "fast", 1.0, [10.0]),
               cell_cost("b0", "slow", 1.0, [10.0])])
    eta.started("fast", "a0", 0.0)
    eta.finished("fast", "a0", 0.001)  # absurdly quick: the ratio is clamped
    assert eta.remaining_s(0.001) == 10.0  # the other device's 10 s still bounds the run
    eta.started("slow", "b0", 0.0)
    eta.finished("slow", "b0", 1000.0)
    assert eta.remaining_s(1000.0) == pytest.approx(10.0 * Eta.RATIO_BOUNDS[0])


@pytest.mark.parametrize(("s", "text"), [(0.4, "0 s"), (59.6, "1 min 00 s"), (185, "3 min 05 s"),
                                         (7800, "2 h 10 min"), (-3, "0 s")])
def test_durations_read_like_a_person_says_them(s: float, text: str) -> None:
    assert duration(s) == text
