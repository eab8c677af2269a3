"""What the published site shows, prepared for its pages (``report.site.publish`` only renders this).

- ``latest_compares``: per device, its latest history run against the run before it, judged with the
  series' history σ_run (the calibration first, where there is one);
- ``overview``: devices × workloads, each cell the change in the bad direction where significant;
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
from harness.analysis.run_table import headline_metric
from harness.analysis.thresholds import Thresholds
from harness.records import Alert, Side
from harness.results.history_source import HISTORY_KINDS
from harness.results.sources import resolve_side, side_from_runs
from harness.results.store import Store
from harness.views import noise as noise_view
from harness.views.compare import CompareOptions, compare_sides
from harness.views.history import alert_ids, load_series, stored_alerts

OPEN = ("suspected", "confirmed")


@dataclass
class DeviceCompare:
    device: str
    prev_run: str
    last_run: str
    cmp: Comparison


@dataclass
class ExtraCompare:
    a: str
    b: str
    cmp: Comparison


@dataclass
class Overview:
    devices: list[str]
    workloads: list[str]
    z: list[list[float | None]]  # % change in the bad direction where significant, 0 where not, None: no data
    text: list[list[str]]


@dataclass
class SiteData:
    runs: list[dict[str, Any]]
    all_cells: pd.DataFrame
    history_cells: pd.DataFrame
    series: list[Series]
    alerts: list[Alert]
    alert_ids: dict[tuple[str, ...], int]
    latest: list[DeviceCompare] = field(default_factory=list)
    extra: list[ExtraCompare] = field(default_factory=list)

    @property
    def open_alerts(self) -> list[Alert]:
        return [a for a in self.alerts if a.state in OPEN]


def site_data(store: Store, *, thresholds: Thresholds | None = None,
              pairs: Sequence[tuple[str, str]] = ()) -> SiteData:
    runs = store.list_runs()
    all_cells = store.cells_frame()
    history_runs = {r["run_id"] for r in runs if r.get("kind", "run") in HISTORY_KINDS}
    cells = all_cells[all_cells["run_id"].isin(history_runs)]
    data = SiteData(runs=runs, all_cells=all_cells, history_cells=cells,
                    series=load_series(store, thresholds=thresholds), alerts=stored_alerts(store),
                    alert_ids=alert_ids(store))
    data.latest = latest_compares(store, runs, cells, thresholds)
    options = CompareOptions(thresholds=thresholds)
    data.extra = [ExtraCompare(a, b, compare_sides(resolve_side(a, store, which="A"),
                                                   resolve_side(b, store, which="B"), store, options))
                  for a, b in pairs]
    return data


# ---------------------------------------------------------------------------- compares
def _device_side(side: Side, device: str) -> Side:
    return Side(side.label, side.metrics[side.metrics["device"] == device].reset_index(drop=True),
                side.cells[side.cells["device"] == device].reset_index(drop=True), list(side.runs))


def latest_compares(store: Store, runs: Sequence[Mapping[str, Any]], cells: pd.DataFrame,
                    thresholds: Thresholds | None) -> list[DeviceCompare]:
    """Per device: its latest run against the run before it (the 'latest change')."""
    if cells.empty:
        return []
    created = {r["run_id"]: r["created_at"] for r in runs}
    pairs: list[tuple[str, str, str]] = []
    for device, g in cells.groupby("device", sort=True):
        run_ids = sorted(set(g["run_id"]), key=lambda r: (created.get(r, ""), r))
        if len(run_ids) >= 2:
            pairs.append((str(device), run_ids[-2], run_ids[-1]))
    sides = {rid: side_from_runs(store, [rid], label=f"run {rid}") for _, prev, last in pairs for rid in (prev, last)}
    keys: set[tuple[str, str, str, str, str]] = set()
    for side in sides.values():
        m = side.metrics[side.metrics["kind"] == "noisy"]
        keys |= {tuple(str(v) for v in rec) for rec in  # type: ignore[misc]
                 m[["workload", "precision", "backend", "device_fingerprint", "metric"]].itertuples(index=False)}
    priors = noise_view.priors(store, keys, set(sides))  # once for every device: one pass over the history
    options = CompareOptions(thresholds=thresholds, allow_artifact_change=True)
    out = []
    for device, prev, last in pairs:
        a, b = _device_side(sides[prev], device), _device_side(sides[last], device)
        cmp = compare_sides(a, b, store, options, priors=priors)
        cmp.notes.append(f"device {device}: latest run {last} against the run before it, {prev}; "
                         "artifact changes between builds are judged")
        out.append(DeviceCompare(device, prev, last, cmp))
    return out


# ---------------------------------------------------------------------------- overview
def overview_cell(rows: Sequence[Any]) -> tuple[float | None, str]:
    """(colour value, label) of a heatmap cell: the colour is the change in the BAD direction
    (a throughput drop is as red as a latency rise); the label keeps the metric's own sign."""
    noisy = [r for r in rows if r.kind == "noisy" and r.ratio is not None and r.ratio > 0]
    for verdict in (Verdict.REGRESSED, Verdict.IMPROVED):
        hits = [r for r in noisy if r.verdict is verdict]
        if hits:
            r = max(hits, key=lambda r: abs(math.log(r.ratio)))
            pct = (r.ratio - 1) * 100
            worse_pct = abs(pct) if verdict is Verdict.REGRESSED else -abs(pct)
            return worse_pct, f"{pct:+.1f}% {r.metric} {r.precision}/{r.backend} ({verdict.value.lower()})"
    head = headline_metric([r.metric for r in noisy])
    r = next((r for r in noisy if r.metric == head), None)
    if r is None:
        return None, "no change data"
    return 0.0, f"{(r.ratio - 1) * 100:+.1f}% n.s."  # 0 = the neutral colour: not significant


def overview(latest: Sequence[DeviceCompare]) -> Overview:
    devices = [dc.device for dc in latest]
    workloads = sorted({r.workload for dc in latest for r in dc.cmp.rows})
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for dc in latest:
        cells = [overview_cell([r for r in dc.cmp.rows if r.workload == wl]) for wl in workloads]
        z.append([c[0] for c in cells])
        text.append([c[1] for c in cells])
    return Overview(devices, workloads, z, text)


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
