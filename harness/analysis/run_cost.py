"""What a run will cost before it starts, and how long it still has while it runs (pure).

A cell's estimate comes from earlier runs of the same cell (the median wall time of its last
few ok runs) when the store has them, else from its measure settings: every measured window
takes at least its warm-up seconds plus its minimum steady seconds, plus a fixed setup per
cell (runner start, model load, outputs). The line says that work no setting bounds (an LLM
cell's KV fills, a slow model's repetitions) is not in it: only earlier runs know it.
Settings also floor a history estimate, so a cell whose measure settings grew since its last
runs is not under-estimated. Devices run in parallel, cells on one device one after another:
the run takes as long as its slowest device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

# Runner process start, imports, model load, EP placement and output checks of one cell on
# the local device (measured ~0.3-1.1 s per built-in cell on a shared 2-core host).
CELL_SETUP_S = 1.0
#: said after an estimate from the measure settings: an LLM cell took 3.7x its settings' estimate
UNBOUNDED_WORK = ", which do not bound every cell's work"


@dataclass(frozen=True)
class CellCost:
    key: str
    device: str
    seconds: float
    source: Literal["history", "settings"]


@dataclass(frozen=True)
class RunCost:
    cells: tuple[CellCost, ...]
    per_device: dict[str, tuple[int, float]] = field(default_factory=dict)  # device -> (cells, seconds)

    @property
    def seconds(self) -> float:
        return max((s for _, s in self.per_device.values()), default=0.0)

    @property
    def from_history(self) -> int:
        return sum(c.source == "history" for c in self.cells)


def settings_floor_s(windows: int, warmup_s: float, min_seconds: float) -> float:
    """The least time a cell's measured windows take under its measure settings."""
    return max(1, windows) * (warmup_s + min_seconds)


def cell_cost(key: str, device: str, floor_s: float, earlier_walls: Sequence[float]) -> CellCost:
    if earlier_walls:
        ordered = sorted(earlier_walls)
        mid = len(ordered) // 2
        median = ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        return CellCost(key, device, max(median, floor_s), "history")
    return CellCost(key, device, floor_s + CELL_SETUP_S, "settings")


def run_cost(cells: Sequence[CellCost]) -> RunCost:
    per_device: dict[str, tuple[int, float]] = {}
    for c in cells:
        n, s = per_device.get(c.device, (0, 0.0))
        per_device[c.device] = (n + 1, s + c.seconds)
    return RunCost(tuple(cells), per_device)


def duration(seconds: float) -> str:
    """`45 s`, `3 min 05 s`, `2 h 10 min`."""
    s = int(round(max(0.0, seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


class Eta:
    """Time left in a run from the per-cell estimates, corrected per device by how long its
    finished cells took against their estimates. Times are passed in (``now``), never read."""

    RATIO_BOUNDS = (0.25, 4.0)

    def __init__(self, costs: Sequence[CellCost]) -> None:
        self._est: dict[str, CellCost] = {c.key: c for c in costs}
        self._todo: dict[str, set[str]] = {}
        for c in costs:
            self._todo.setdefault(c.device, set()).add(c.key)
        self._running: dict[str, tuple[str, float]] = {}  # device -> (cell, started)
        self._spent: dict[str, tuple[float, float]] = {}  # device -> (actual s, estimated s) of finished cells

    def started(self, device: str, key: str, now: float) -> None:
        self._todo.get(device, set()).discard(key)
        self._running[device] = (key, now)

    def finished(self, device: str, key: str, now: float) -> None:
        self._todo.get(device, set()).discard(key)
        running = self._running.get(device)
        if running and running[0] == key:
            del self._running[device]
            if key in self._est:
                actual, est = self._spent.get(device, (0.0, 0.0))
                self._spent[device] = (actual + now - running[1], est + self._est[key].seconds)

    def device_done(self, device: str) -> None:
        self._todo.pop(device, None)
        self._running.pop(device, None)

    def _ratio(self, device: str) -> float:
        actual, est = self._spent.get(device, (0.0, 0.0))
        if est <= 0:
            return 1.0
        lo, hi = self.RATIO_BOUNDS
        return min(hi, max(lo, actual / est))

    def remaining_s(self, now: float) -> float:
        left = 0.0
        for device in set(self._todo) | set(self._running):
            ratio = self._ratio(device)
            s = sum(self._est[k].seconds for k in self._todo.get(device, ()) if k in self._est) * ratio
            if device in self._running:
                key, t0 = self._running[device]
                s += max(0.0, self._est[key].seconds * ratio - (now - t0)) if key in self._est else 0.0
            left = max(left, s)
        return left


def describe(cost: RunCost) -> str:
    """One line: cells per device and the wall-time estimate with where it came from."""
    per = ", ".join(f"{d} {n}" for d, (n, _) in sorted(cost.per_device.items()))
    total = len(cost.cells)
    if not total:
        return "no cell left to run"
    hist = cost.from_history
    if hist == total:
        source = "from earlier runs of these cells"
    elif hist == 0:
        source = f"from the measure settings{UNBOUNDED_WORK}; no earlier runs of these cells"
    else:
        source = f"{hist} cells from earlier runs, {total - hist} from the measure settings{UNBOUNDED_WORK}"
    return f"{total} cells ({per}); estimated wall time ≈ {duration(cost.seconds)} ({source})"
