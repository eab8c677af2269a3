"""Changes of a device's latest run, each cell judged against its last comparable successful
cell (analysis.baselines): the sides are loaded here, compare decides, report renders. One run per
side: σ_run comes from the device's calibration or the series' history (the runs compared left out),
looked up once for every device of a report.

A device none of whose cells has a baseline gets no comparison at all ("no baseline yet"),
never a table of INCOMPARABLE rows against a failed run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from harness.analysis.baselines import pick_baselines
from harness.analysis.compare import Comparison, Side
from harness.analysis.thresholds import Thresholds
from harness.records import ROW_KEY
from harness.results.history_source import HISTORY_RUN_KINDS
from harness.results.sources import side_from_runs
from harness.results.store import Store
from harness.views import noise as noise_view
from harness.views.compare import CompareOptions, compare_sides
from harness.views.results_matrix import Part, latest_parts

NO_BASELINE = "no baseline yet"
BASELINE_BATCH = 8  # earlier runs read at a time while looking for baselines


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
    c = side.cells[side.cells["cell_id"].isin(cell_ids)].reset_index(drop=True)
    return Side(label, m, c, sorted(set(m["run_id"]) | set(c["run_id"])))


def _known_metrics(b: Side, a: Side, base: dict[int, int]) -> tuple[Side, int]:
    """B's metrics that its baseline cell also has (and how many were left out): a metric measured
    for the first time has nothing to change from; it is not an INCOMPARABLE row."""
    names = {int(c): set(g) for c, g in a.metrics.groupby("cell_id")["metric"]} if not a.metrics.empty else {}
    keep = pd.Series([m in names.get(base.get(int(c), -1), set())
                      for c, m in zip(b.metrics["cell_id"], b.metrics["metric"])], index=b.metrics.index, dtype=bool)
    kept = b.metrics[keep].reset_index(drop=True)  # a boolean mask: an empty list would select no columns
    return Side(b.label, kept, b.cells, list(b.runs)), len(b.metrics) - len(kept)


def find_baselines(store: Store, latest: pd.DataFrame, earlier: Sequence[str]) -> tuple[dict[int, int], dict[int, str]]:
    """(latest cell id -> baseline cell id, baseline cell id -> its run id), reading ``earlier``
    (run ids, newest first) BASELINE_BATCH runs at a time until every cell has its baseline: the
    night before usually settles them all, so a long history is not read for every report."""
    found: dict[int, int] = {}
    run_of: dict[int, str] = {}
    todo = latest
    for start in range(0, len(earlier), BASELINE_BATCH):
        if todo.empty:
            break
        history = store.cells_frame(earlier[start:start + BASELINE_BATCH])
        history = history[history["device"].isin(set(todo["device"]))]
        got = pick_baselines(history, todo)
        found.update(got)
        run_of.update({int(i): str(r) for i, r in zip(history["id"], history["run_id"]) if int(i) in set(got.values())})
        todo = todo[~todo["id"].isin(set(got))]
    return found, run_of


def changes_of(store: Store, parts: Sequence[tuple[str, str]], *, thresholds: Thresholds | None = None,
               history_kinds: Sequence[str] = HISTORY_RUN_KINDS) -> list[DeviceChanges]:
    """For each (run id, device): that run's cells of the device against their baselines."""
    if not parts:
        return []
    run_cells: dict[str, pd.DataFrame] = {}
    groups: list[tuple[str, str, pd.DataFrame]] = []
    for run_id, device in parts:
        if run_id not in run_cells:
            cells = store.cells_frame([run_id])
            run_cells[run_id] = cells[cells["device"].isin({d for r, d in parts if r == run_id})]
        groups.append((device, run_id, run_cells[run_id][run_cells[run_id]["device"] == device]))
    return judge_cells(store, groups, thresholds=thresholds, history_kinds=history_kinds)


def judge_cells(store: Store, groups: Sequence[tuple[str, str, pd.DataFrame]], *,
                thresholds: Thresholds | None = None,
                history_kinds: Sequence[str] = HISTORY_RUN_KINDS) -> list[DeviceChanges]:
    """For each (device, label, cells): those cells (Store.cells_frame rows of one device, from one
    run or — the farm's state — from several) against their baselines. ``label`` names what is
    judged (a run id, or the runs the cells come from)."""
    if not groups:
        return []
    runs = store.list_runs()  # newest first
    history = [r["run_id"] for r in runs if r.get("kind", "run") in history_kinds]
    sides: dict[tuple[str, ...], Side] = {}  # a night's run serves every device: load it once

    def side(run_ids: tuple[str, ...]) -> Side:
        if run_ids not in sides:
            sides[run_ids] = side_from_runs(store, list(run_ids), label=", ".join(run_ids))
        return sides[run_ids]

    found: dict[str, tuple[dict[int, int], dict[int, str]]] = {}  # per label: all its devices at once
    pending: list[tuple[str, str, tuple[str, ...], Side | None, Side | None, int, int, int]] = []
    for device, label, latest in groups:
        if label not in found:
            together = pd.concat([g for _, lab, g in groups if lab == label], ignore_index=True)
            newest = str(together["run_created_at"].max()) if len(together) else ""
            # every history run up to the newest judged cell: pick_baselines keeps, per cell, only
            # cells older than it and of another run (the farm's state mixes runs: one run's cell
            # can be another's baseline)
            known = set(history)
            earlier = [r["run_id"] for r in runs if r["run_id"] in known and str(r["created_at"]) <= newest]
            found[label] = find_baselines(store, together, earlier)
        base = {c: b for c, b in found[label][0].items() if c in set(latest["id"])}
        baseline_runs = tuple(sorted({found[label][1][b] for b in base.values()}))
        a = b = None
        new = 0
        if base:
            a = _restrict(side(baseline_runs), set(base.values()), f"last successful: {', '.join(baseline_runs)}")
            own = tuple(sorted(set(latest.loc[latest["id"].isin(set(base)), "run_id"])))
            b, new = _known_metrics(_restrict(side(own), set(base), f"run {label}"), a, base)
        pending.append((label, device, baseline_runs, a, b, new, len(latest), len(base)))
    keys = {tuple(str(v) for v in rec) for _, _, _, _, b, _, _, _ in pending if b is not None
            for rec in b.metrics.loc[b.metrics["kind"] == "noisy", list(ROW_KEY)].itertuples(index=False)}
    involved = {r for _, _, base_runs, _, b, _, _, _ in pending for r in (*base_runs, *(b.runs if b else ()))}
    priors = noise_view.priors(store, keys, involved)  # type: ignore[arg-type]  # once for every device
    options = CompareOptions(thresholds=thresholds, allow_artifact_change=True)
    out = []
    for label, device, baseline_runs, a, b, new, cells, based in pending:
        cmp = None
        if a is not None and b is not None:
            cmp = compare_sides(a, b, store, options, priors=priors)
            cmp.notes.append(f"device {device}: run {label}, each cell against its last comparable successful "
                             f"run ({', '.join(baseline_runs)}); artifact changes between builds are judged")
            if new:
                cmp.notes.append(f"{new} metric value(s) of {device} are new since their baseline (e.g. a metric "
                                 "this harness version added): judged from the next run on")
            if cells > based:
                cmp.notes.append(f"{cells - based} cell(s) of {device} have {NO_BASELINE}")
        out.append(DeviceChanges(device, label, baseline_runs, cmp, cells, cells - based))
    return out


def latest_changes(store: Store, *, thresholds: Thresholds | None = None,
                   parts: Sequence[Part] | None = None) -> list[DeviceChanges]:
    """The overview: every device's latest history run (``parts``: latest_parts, when the caller
    has them already) against its baselines."""
    pairs = [(p.run_id, p.device) for p in (latest_parts(store) if parts is None else parts) if p.device]
    return changes_of(store, sorted(pairs, key=lambda p: p[1]), thresholds=thresholds)


def run_changes(store: Store, run_id: str, *, thresholds: Thresholds | None = None) -> list[DeviceChanges]:
    """A run report: each of the run's devices against its baselines."""
    cells = store.cells_frame([run_id])
    devices = sorted(set(cells["device"])) if not cells.empty else []
    return changes_of(store, [(run_id, d) for d in devices], thresholds=thresholds)
