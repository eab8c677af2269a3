"""Changes of a device's latest run, each cell judged against its last comparable successful
cell (analysis.baselines): the sides are loaded here, compare decides, report renders.

A device none of whose cells has a baseline gets no comparison at all ("no baseline yet"),
never a table of INCOMPARABLE rows against a failed run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.analysis.baselines import pick_baselines
from harness.analysis.compare import Comparison, Side, compare
from harness.analysis.thresholds import Thresholds
from harness.results.analysis_tables import calibration_map
from harness.results.history_source import HISTORY_RUN_KINDS
from harness.results.sources import side_from_runs
from harness.results.store import Store
from harness.views.results_matrix import latest_parts

NO_BASELINE = "no baseline yet"


@dataclass
class DeviceChanges:
    device: str
    last_run: str
    baseline_runs: tuple[str, ...]
    cmp: Comparison | None  # None: no cell of the latest run has a baseline yet
    cells: int  # cells of the device in its latest run
    without_baseline: int  # of which have no baseline

    @property
    def baseline_label(self) -> str:
        return ", ".join(self.baseline_runs) if self.baseline_runs else NO_BASELINE


def _restrict(side: Side, cell_ids: set[int], label: str) -> Side:
    m = side.metrics[side.metrics["cell_id"].isin(cell_ids)].reset_index(drop=True)
    c = side.cells[side.cells["id"].isin(cell_ids)].reset_index(drop=True)
    return Side(label, m, c)


def changes_of(store: Store, parts: Sequence[tuple[str, str]], *, thresholds: Thresholds | None = None,
               history_kinds: Sequence[str] = HISTORY_RUN_KINDS) -> list[DeviceChanges]:
    """For each (run id, device): that run's cells of the device against their baselines."""
    if not parts:
        return []
    runs = [r["run_id"] for r in store.list_runs() if r.get("kind", "run") in history_kinds]
    history = store.cells_frame(sorted(set(runs) | {r for r, _ in parts}))
    calib = calibration_map(store)
    sides: dict[tuple[str, ...], Side] = {}  # a night's run serves every device: load it once

    def side(run_ids: tuple[str, ...]) -> Side:
        if run_ids not in sides:
            sides[run_ids] = side_from_runs(store, list(run_ids), label=", ".join(run_ids))
        return sides[run_ids]

    out = []
    for run_id, device in parts:
        latest = history[(history["run_id"] == run_id) & (history["device"] == device)]
        base = pick_baselines(history[history["device"] == device], latest)
        baseline_runs = tuple(sorted(set(history.loc[history["id"].isin(set(base.values())), "run_id"])))
        cmp = None
        if base:
            a = _restrict(side(baseline_runs), set(base.values()), f"last successful: {', '.join(baseline_runs)}")
            b = _restrict(side((run_id,)), set(base), f"run {run_id}")
            cmp = compare(a, b, thresholds, calibration=calib, allow_artifact_change=True)
            cmp.notes.append(f"device {device}: run {run_id}, each cell against its last comparable successful "
                             f"run ({', '.join(baseline_runs)}); artifact changes between builds are judged")
            if len(latest) > len(base):
                cmp.notes.append(f"{len(latest) - len(base)} cell(s) of {device} have {NO_BASELINE}")
        out.append(DeviceChanges(device, run_id, baseline_runs, cmp, len(latest), len(latest) - len(base)))
    return out


def latest_changes(store: Store, *, thresholds: Thresholds | None = None) -> list[DeviceChanges]:
    """The overview: every device's latest history run against its baselines."""
    parts = [(p.run_id, p.device) for p in latest_parts(store) if p.device]
    return changes_of(store, sorted(parts, key=lambda p: p[1]), thresholds=thresholds)


def run_changes(store: Store, run_id: str, *, thresholds: Thresholds | None = None) -> list[DeviceChanges]:
    """A run report: each of the run's devices against its baselines."""
    cells = store.cells_frame([run_id])
    devices = sorted(set(cells["device"])) if not cells.empty else []
    return changes_of(store, [(run_id, d) for d in devices], thresholds=thresholds)
