"""What the published site shows, prepared for its pages (``report.site.publish`` only renders this).

- ``site_data``: everything the pages show; the farm's state (``views.farm_state``: per device the
  latest complete result of every cell, each dated; a device whose newest runs measured nothing is
  down since the first of them, its last good results kept), each of those cells against its last
  comparable successful cell (``views.changes``), judged with σ_run from the calibration or the
  series' history;
- ``overview``: devices × cells (workload · precision), each the change in the bad direction where
  significant; its regressed cells are the overview's alert count and the matrix's "regressed"
  badges: one decision, three views of it;
- ``device_items``: per device fingerprint, its facts, its noise (history and calibrated);
- ``alert_record`` / ``regression_records``: the alerts as the regressions page, JSON and feed list them.

Nothing here writes the store: alerts are read as `harness history` / `alerts` / a night left them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import noise as N
from harness.analysis.compare import Comparison, Verdict
from harness.analysis.history import Series, series_slug
from harness.analysis.results_matrix import ResultsMatrix
from harness.analysis.run_table import PRECISION_ORDER, headline_metric
from harness.analysis.thresholds import Thresholds
from harness.records import Alert
from harness.results.history_source import HISTORY_RUN_KINDS
from harness.results.sources import resolve_side
from harness.results.store import Store
from harness.views import noise as noise_view
from harness.views.changes import DeviceChanges, judge_cells
from harness.views.compare import CompareOptions, compare_sides
from harness.views.farm_state import FarmState, load_farm_state
from harness.views.history import alert_ids, load_series, stored_alerts
from harness.views.results_matrix import matrix_of, select_cells

OPEN = ("suspected", "confirmed")


@dataclass
class DeviceCompare:
    device: str
    prev_run: str  # the baseline: each cell's last comparable successful run (views.changes)
    last_run: str
    cmp: Comparison


@dataclass
class ExtraCompare:
    a: str
    b: str
    cmp: Comparison


CellKey = tuple[str, str, str, str]  # device, workload, precision, backend


@dataclass
class Overview:
    devices: list[str]
    columns: list[str]  # "workload · precision" (· backend where a device ran several)
    z: list[list[float | None]]  # % change in the bad direction where significant, 0 where not, None: no data
    text: list[list[str]]
    regressed: dict[CellKey, str] = field(default_factory=dict)  # the red tiles (their labels): the alert count


@dataclass
class SiteData:
    runs: list[dict[str, Any]]
    all_cells: pd.DataFrame
    history_cells: pd.DataFrame
    series: list[Series]
    alerts: list[Alert]
    alert_ids: dict[tuple[str, ...], int]
    state: FarmState = field(default_factory=lambda: FarmState([], []))
    changes: list[DeviceChanges] = field(default_factory=list)
    matrix: ResultsMatrix | None = None
    latest: list[DeviceCompare] = field(default_factory=list)
    extra: list[ExtraCompare] = field(default_factory=list)
    overview: Overview = field(default_factory=lambda: Overview([], [], [], []))

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.state in OPEN]


def _label(runs: Sequence[str]) -> str:
    """What a device's shown cells come from: one run, or the newest and how many before it."""
    return runs[0] if len(runs) == 1 else f"{runs[0]} + {len(runs) - 1} earlier run(s)"


def site_data(store: Store, *, thresholds: Thresholds | None = None,
              pairs: Sequence[tuple[str, str]] = ()) -> SiteData:
    runs = store.list_runs()
    all_cells = store.cells_frame()
    history_runs = {r["run_id"] for r in runs if r.get("kind", "run") in HISTORY_RUN_KINDS}
    cells = all_cells[all_cells["run_id"].isin(history_runs)]
    data = SiteData(runs=runs, all_cells=all_cells, history_cells=cells,
                    series=load_series(store, thresholds=thresholds), alerts=stored_alerts(store),
                    alert_ids=alert_ids(store))
    data.state, index = load_farm_state(store, cells=all_cells)
    shown_runs = data.state.runs_of(index)
    selection = select_cells(store, data.state.cell_ids, sorted({r for rs in shown_runs.values() for r in rs}))
    groups = [(str(d), _label(shown_runs.get(str(d), ["?"])), g) for d, g in selection.cells.groupby("device", sort=True)]
    data.changes = judge_cells(store, groups, thresholds=thresholds)
    data.latest = [DeviceCompare(ch.device, ch.baseline_label, ch.last_run, ch.cmp) for ch in data.changes
                   if ch.cmp is not None]
    data.overview = overview(data.latest)
    if data.state.cell_ids:
        data.matrix = matrix_of(store, selection, cell_badges=cell_badges(data.state, data.overview, selection.cells))
    options = CompareOptions(thresholds=thresholds)
    data.extra = [ExtraCompare(a, b, compare_sides(resolve_side(a, store, which="A"),
                                                   resolve_side(b, store, which="B"), store, options))
                  for a, b in pairs]
    return data


def cell_badges(state: FarmState, ov: Overview, cells: pd.DataFrame) -> dict[int, list[tuple[str, str, str]]]:
    """The overview's notes on matrix cells: newer attempts that failed, and the regressed cells
    (the heatmap's red tiles, so the matrix, the heatmap and the alert count agree)."""
    out: dict[int, list[tuple[str, str, str]]] = {cid: [("stale", "newer attempts failed", note)]
                                                  for cid, note in state.failing_since.items()}
    where = {(str(d), str(w), str(p), str(b)): int(i) for i, d, w, p, b in
             zip(cells["id"], cells["device"], cells["workload"], cells["precision"], cells["backend"])}
    for key, text in ov.regressed.items():
        cid = where.get(key)
        if cid is not None:
            out.setdefault(cid, []).append(("regressed", "regressed", text))
    return out


# ---------------------------------------------------------------------------- overview
def column_label(workload: str, precision: str, backend: str, by_backend: bool) -> str:
    return f"{workload} · {precision} · {backend}" if by_backend else f"{workload} · {precision}"


def overview_cell(rows: Sequence[Any]) -> tuple[float | None, str]:
    """(colour value, label) of a heatmap cell: the colour is the change in the BAD direction
    (a throughput drop is as red as a latency rise); the label keeps the metric's own sign."""
    noisy = [r for r in rows if r.kind == "noisy" and r.ratio is not None and r.ratio > 0
             and math.isfinite(r.ratio)]
    for verdict in (Verdict.REGRESSED, Verdict.IMPROVED):
        hits = [r for r in noisy if r.verdict is verdict]
        if hits:
            r = max(hits, key=lambda r: abs(math.log(r.ratio)))
            pct = (r.ratio - 1) * 100
            worse_pct = abs(pct) if verdict is Verdict.REGRESSED else -abs(pct)
            return worse_pct, f"{pct:+.1f}% {r.metric} ({verdict.value.lower()})"
    head = headline_metric([r.metric for r in noisy])
    r = next((r for r in noisy if r.metric == head), None)
    if r is None:
        return None, "no change data"
    return 0.0, f"{(r.ratio - 1) * 100:+.1f}% n.s."  # 0 = the neutral colour: not significant


def _rank(p: str) -> tuple[int, str]:
    return (PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER), p)


def overview(latest: Sequence[DeviceCompare]) -> Overview:
    """Devices × cells: one tile per (workload, precision[, backend]) a device's latest results hold."""
    devices = [dc.device for dc in latest]
    idents = {(r.workload, r.precision, r.backend) for dc in latest for r in dc.cmp.rows}
    by_backend = len(idents) > len({(w, p) for w, p, _ in idents})
    order = sorted(idents, key=lambda k: (k[0], _rank(k[1]), k[2]))
    cols = order  # without by_backend each (workload, precision) has one backend: one column each
    columns = [column_label(w, p, b, by_backend) for w, p, b in cols]
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    regressed: dict[CellKey, str] = {}
    for dc in latest:
        zr, tr = [], []
        for w, p, b in cols:
            rows = [r for r in dc.cmp.rows if r.workload == w and r.precision == p and (r.backend == b or not by_backend)]
            v, t = overview_cell(rows)
            zr.append(v)
            tr.append(t)
            if v is not None and v > 0:
                regressed[(dc.device, w, p, next((r.backend for r in rows), b))] = t
        z.append(zr)
        text.append(tr)
    return Overview(devices, columns, z, text, regressed)


# ---------------------------------------------------------------------------- devices
def device_items(store: Store, cells: pd.DataFrame, series: Sequence[Series]) -> list[dict[str, Any]]:
    """Per (device, fingerprint): facts, runs, the history noise score and the calibrated σ_run."""
    history_noise: dict[str, list[float]] = {}
    for s in series:
        pct = N.as_percent(s.sigma_run)
        if pct is not None and len(s.points) >= N.MIN_HISTORY_RUNS:
            history_noise.setdefault(s.key[3], []).append(pct)
    calibrated = noise_view.calibrations_by_device(store)
    items: list[dict[str, Any]] = []
    if cells.empty:
        return items
    c = cells.assign(device_fingerprint=cells["device_fingerprint"].fillna(""))
    for (device, fp), g in c.sort_values("run_created_at").groupby(["device", "device_fingerprint"], sort=True):
        last = g.iloc[-1]
        facts = json.loads(last["fingerprint_json"]) if isinstance(last["fingerprint_json"], str) else {}
        noise = history_noise.get(str(fp))
        cal = calibrated.get(str(fp), [])
        items.append({"device": device, "fingerprint": fp, "runs": g["run_id"].nunique(), "cells": len(g),
                      "first": g["run_created_at"].iloc[0], "last": last["run_created_at"],
                      "transport": last["transport"],
                      "facts": sorted((str(k), json.dumps(v) if isinstance(v, (dict, list)) else str(v))
                                      for k, v in (facts or {}).items()),
                      "noise": float(np.median(noise)) if noise else None,
                      "calibrated": [{"series": f"{x.workload} {x.precision}/{x.backend} {x.metric}",
                                      "pct": N.as_percent(x.sigma), "low": N.as_percent(x.low),
                                      "high": N.as_percent(x.high), "runs": x.n_runs, "at": x.created_at}
                                     for x in sorted(cal, key=lambda x: x.key)]})
    return items


# ---------------------------------------------------------------------------- regressions
def alert_record(a: Alert, alert_id: int | None) -> dict[str, Any]:
    return {"id": alert_id, "state": a.state, "device": a.device, "device_fingerprint": a.device_fingerprint,
            "workload": a.workload, "precision": a.precision, "backend": a.backend, "metric": a.metric,
            "run_id": a.run_id, "prev_run_id": a.prev_run_id, "build_id": a.build_id, "prev_build_id": a.prev_build_id,
            "at": a.at, "before": a.before, "after": a.after, "ratio": a.ratio, "p": a.p, "note": a.note,
            "series": f"series/{series_slug(a.series_key)}.html"}


def regression_records(alerts: Sequence[Alert], ids: Mapping[tuple[str, ...], int]) -> list[dict[str, Any]]:
    """Confirmed first, then suspected, acknowledged, fixed, invalid; newest first within each."""
    order = {s: i for i, s in enumerate(("confirmed", "suspected", "acknowledged", "fixed", "invalid"))}
    newest_first = sorted(alerts, key=lambda a: str(a.at), reverse=True)
    ordered = sorted(newest_first, key=lambda a: order.get(a.state, 9))
    return [alert_record(a, ids.get(a.key)) for a in ordered]
