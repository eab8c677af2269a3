"""Build the static site from a results store: every page opens from file://, plotly.js is
written once at the root, every user string goes through autoescaped templates or script_json.

Layout:  index.html (results matrix + charts, then changes)   runs.html + runs/<run>/index.html (last N runs)
         series/index.html + series/<id>.html     compare/index.html + compare/<device>.html
         devices.html   regressions.html + regressions.json + feed.xml (Atom)
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup

from harness.analysis.alerts import OPEN_STATES, Alert
from harness.analysis.compare import Comparison, Verdict, compare
from harness.analysis.history import Series, series_slug
from harness.analysis.results_matrix import ResultsMatrix
from harness.analysis.run_table import headline_metric
from harness.analysis.thresholds import Thresholds
from harness.report.plotlyjs import PLOTLY_JS, write_plotlyjs
from harness.report.render_compare import render_html as render_compare_html
from harness.report.results_section import results_section
from harness.report.run_report import write_run_report
from harness.report.site.feed import atom_feed
from harness.report.site.plots import SERIES_CHART_MIN_RUNS, heatmap_figure, plot_div, series_figure
from harness.report.site.swap import fresh_site
from harness.report.site.templates import render
from harness.results.analysis_tables import alert_ids, calibration_map, load_noise_floors
from harness.results.history_source import load_series, sync_alerts
from harness.results.sources import resolve_side
from harness.results.store import Store
from harness.views.changes import DeviceChanges, latest_changes
from harness.views.results_matrix import latest_parts, latest_results_matrix


@dataclass
class SiteResult:
    out: Path
    pages: list[Path] = field(default_factory=list)

    def sizes(self) -> dict[str, int]:
        return {str(p.relative_to(self.out)): p.stat().st_size for p in self.pages}

    def moved_to(self, out: Path) -> SiteResult:
        return SiteResult(out, [out / p.relative_to(self.out) for p in self.pages])


def slug(text: str) -> str:
    """A safe file name for a user-supplied id (short hash added when characters were replaced)."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text)[:80].strip("._") or "x"
    return safe if safe == text else f"{safe}-{series_slug((text,))[:8]}"


class _Writer:
    def __init__(self, out: Path, result: SiteResult) -> None:
        self.out, self.result = out, result

    def page(self, rel: str, template: str, title: str, *, charts: bool = False, **ctx: Any) -> Path:
        """Render a page; only pages with charts load plotly.js (a table page opens instantly)."""
        depth = rel.count("/")
        root = "../" * depth
        plotly = Markup('<script src="{}"></script>').format(root + PLOTLY_JS) if charts else ""
        farm_nav = (self.out / "farm" / "index.html").is_file()  # written by `harness nightly`
        html = render(template, title=title, root=root, plotly=plotly, farm_nav=farm_nav, **ctx)
        return self.raw(rel, html)

    def raw(self, rel: str, text: str) -> Path:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        self.result.pages.append(path)
        return path


def publish(
    store: Store,
    out: Path,
    *,
    run_pages: int = 20,
    canaries: Mapping[str, str] | None = None,
    thresholds: Thresholds | None = None,
    base_url: str | None = None,
    pairs: Sequence[tuple[str, str]] = (),
) -> SiteResult:
    """Write the whole site; ``pairs`` adds compare pages for (A, B) run/build ids or files.

    The pages go into a fresh folder that replaces ``out`` in one step at the end (swap.py):
    a publish that dies half-way leaves the old site whole."""
    with fresh_site(Path(out)) as stage:
        result = _write_site(store, stage, run_pages=run_pages, canaries=canaries, thresholds=thresholds,
                             base_url=base_url or Path(out).resolve().as_uri(), pairs=pairs)
    return result.moved_to(Path(out))


def _write_site(
    store: Store,
    out: Path,
    *,
    run_pages: int,
    canaries: Mapping[str, str] | None,
    thresholds: Thresholds | None,
    base_url: str,
    pairs: Sequence[tuple[str, str]],
) -> SiteResult:
    out = Path(out)
    result = SiteResult(out)
    w = _Writer(out, result)
    write_plotlyjs(out)  # the one copy every chart page of the site loads

    runs = store.list_runs()
    series = load_series(store, thresholds=thresholds)
    alerts = sync_alerts(store, series, canaries=canaries) if series else []
    ids = alert_ids(store)
    all_cells = store.cells_frame()
    history_runs = {r["run_id"] for r in runs if r.get("kind", "run") in ("run", "nightly")}
    cells = all_cells[all_cells["run_id"].isin(history_runs)]

    parts = latest_parts(store)  # each device's latest run: the overview's results and changes
    changes = latest_changes(store, thresholds=thresholds, parts=parts)
    latest = [DeviceCompare(ch.device, ch.baseline_label, ch.last_run, ch.cmp) for ch in changes if ch.cmp is not None]
    extra = [(a, b, compare(resolve_side(a, store, which="A"), resolve_side(b, store, which="B"), thresholds,
                            calibration=calibration_map(store))) for a, b in pairs]
    _write_compares(w, latest, extra)
    _write_overview(w, latest_results_matrix(store, parts), latest, changes, runs, alerts)
    _write_runs(w, store, runs, all_cells, run_pages, changes)
    _write_series(w, series, alerts)
    _write_devices(w, store, cells, series)
    _write_regressions(w, alerts, ids, base_url)
    return result


# ---------------------------------------------------------------------------- compares
@dataclass
class DeviceCompare:
    device: str
    prev_run: str
    last_run: str
    cmp: Comparison

    @property
    def rel(self) -> str:
        return f"compare/{slug(self.device)}.html"


def _write_compares(w: _Writer, latest: list[DeviceCompare], extra: Sequence[tuple[str, str, Comparison]]) -> None:
    for dc in latest:
        html = render_compare_html(dc.cmp, w.out / "compare", plotlyjs="../" + PLOTLY_JS, root="../")
        w.raw(dc.rel, html)
    items = [{"href": slug(dc.device) + ".html", "device": dc.device, "prev": dc.prev_run, "last": dc.last_run,
              "counts": dc.cmp.counts()} for dc in latest]
    for a, b, cmp in extra:
        name = f"ab-{slug(Path(a).name)}--{slug(Path(b).name)}.html"
        w.raw(f"compare/{name}", render_compare_html(cmp, w.out / "compare", plotlyjs="../" + PLOTLY_JS, root="../"))
        items.append({"href": name, "device": "(all)", "prev": cmp.a_label, "last": cmp.b_label,
                      "counts": cmp.counts()})
    w.page("compare/index.html", "compare_index.html.j2", "compares", items=items)


# ---------------------------------------------------------------------------- overview
def _worst(rows: list[Any]) -> tuple[float | None, str]:
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


def _write_overview(w: _Writer, matrix: ResultsMatrix | None, latest: list[DeviceCompare],
                    changes: list[DeviceChanges], runs: Sequence[Mapping[str, Any]], alerts: list[Alert]) -> None:
    """Results first (each device's latest run as the results matrix and its charts), then changes."""
    results = results_section(matrix, id_prefix="overview")
    sources = [{"device": g.key, "runs": g.run_ids, "created": g.created} for g in (matrix.devices if matrix else [])]
    devices = [dc.device for dc in latest]
    workloads = sorted({r.workload for dc in latest for r in dc.cmp.rows})
    z: list[list[float | None]] = []
    text: list[list[str]] = []
    for dc in latest:
        zr, tr = [], []
        for wl in workloads:
            v, t = _worst([r for r in dc.cmp.rows if r.workload == wl])
            zr.append(v)
            tr.append(t)
        z.append(zr)
        text.append(tr)
    drawn = any(v is not None for row in z for v in row)  # an all-empty heatmap is a grey box: not drawn
    figure = plot_div("overview-heatmap", *heatmap_figure(devices, workloads, z, text),
                      height=max(260, 90 + 46 * len(devices))) if drawn else None
    open_alerts = [a for a in alerts if a.state in OPEN_STATES]
    pages = {dc.device: dc.rel for dc in latest}
    w.page("index.html", "overview.html.j2", "overview", charts=True, figure=figure, runs=len(runs),
           latest=runs[0] if runs else None, open_alerts=len(open_alerts), results=results, sources=sources,
           judged=bool(latest),
           compares=[{"href": pages.get(ch.device), "device": ch.device, "last": ch.last_run,
                      "baseline": ch.baseline_label, "without_baseline": ch.without_baseline,
                      "counts": ch.cmp.counts() if ch.cmp else None, "exit": ch.cmp.exit_code() if ch.cmp else None}
                     for ch in changes])


# ---------------------------------------------------------------------------- runs
def _write_runs(w: _Writer, store: Store, runs: Sequence[Mapping[str, Any]], cells: pd.DataFrame,
                run_pages: int, changes: Sequence[DeviceChanges] = ()) -> None:
    counts = cells.groupby(["run_id", "status"]).size().unstack(fill_value=0) if not cells.empty else pd.DataFrame()
    items = []
    for i, run in enumerate(runs):  # newest first
        rid = run["run_id"]
        href, error = None, None
        c = counts.loc[rid].to_dict() if rid in counts.index else {}
        if i < run_pages:
            try:
                path = _run_report(store, run, w.out / "runs" / slug(rid), c, _judged_already(rid, cells, changes))
            except Exception as exc:  # one broken run must not take the whole site down: say so on the page
                error = f"run report failed: {type(exc).__name__}: {exc}"
            else:
                w.result.pages.append(path)
                href = f"runs/{slug(rid)}/index.html"
        items.append({"run": run, "href": href, "error": error, "counts": {k: int(v) for k, v in c.items() if v}})
    w.page("runs.html", "runs.html.j2", "runs", items=items, run_pages=run_pages)


def _judged_already(run_id: str, cells: pd.DataFrame, changes: Sequence[DeviceChanges]) -> list[DeviceChanges] | None:
    """The overview's changes of a run that is the latest of each of its devices (else None: compute)."""
    mine = [ch for ch in changes if ch.last_run == run_id]
    devices = set(cells.loc[cells["run_id"] == run_id, "device"]) if not cells.empty else set()
    return mine if mine and {ch.device for ch in mine} == devices else None


def _run_report(store: Store, run: Mapping[str, Any], folder: Path, counts: Mapping[str, Any],
                changes: list[DeviceChanges] | None = None) -> Path:
    """A finished run's page is rendered once: a stamp of its state lets later publishes reuse it."""
    stamp = json.dumps({"finished_at": run.get("finished_at"), "status": run.get("status"),
                        "cells": {k: int(v) for k, v in counts.items()}}, sort_keys=True)
    page, mark = folder / "index.html", folder / ".rendered"
    if run.get("status") == "finished" and page.exists() and mark.exists() and mark.read_text() == stamp:
        return page
    path = write_run_report(store, run["run_id"], folder, plotlyjs="../../" + PLOTLY_JS, changes=changes)
    mark.write_text(stamp)
    return path


# ---------------------------------------------------------------------------- series
def _write_series(w: _Writer, series: list[Series], alerts: list[Alert]) -> None:
    by_series: dict[tuple[str, ...], list[Alert]] = {}
    for a in alerts:
        by_series.setdefault(a.series_key, []).append(a)
    items = []
    for s in series:
        # a chart of one or two points says less than the numbers: below the minimum, a table
        figure = plot_div("series", *series_figure(s)) if len(s.points) >= SERIES_CHART_MIN_RUNS else None
        changes = [{"run": str(s.points["run_id"].iloc[c.index]), "build": s.points["build_id"].iloc[c.index],
                    "ratio": c.ratio, "p": c.p, "worse": c.worse} for c in s.changes]
        w.page(f"series/{s.slug}.html", "series.html.j2", s.label, charts=figure is not None, s=s, figure=figure,
               changes=changes, min_runs=SERIES_CHART_MIN_RUNS,
               alerts=by_series.get(s.key, []), last=float(s.points["median"].iloc[-1]))
        items.append({"href": f"{s.slug}.html", "s": s, "runs": len(s.points), "changes": len(s.changes),
                      "last": float(s.points["median"].iloc[-1])})
    w.page("series/index.html", "series_index.html.j2", "series", items=items)


# ---------------------------------------------------------------------------- devices
def _noise_pct(series: list[Series]) -> dict[str, float]:
    """Per fingerprint: the median over its series of the run-to-run robust sigma of log medians (%)."""
    per: dict[str, list[float]] = {}
    for s in series:
        m = s.points["median"].to_numpy(dtype=float)
        m = m[np.isfinite(m) & (m > 0)]
        if m.size >= 3:
            d = np.diff(np.log(m))
            per.setdefault(s.key[3], []).append(float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)))
    return {fp: 100 * float(np.median(v)) for fp, v in per.items()}


def _write_devices(w: _Writer, store: Store, cells: pd.DataFrame, series: list[Series]) -> None:
    noise = _noise_pct(series)
    floors: dict[str, list[dict[str, Any]]] = {}
    for f in load_noise_floors(store):
        floors.setdefault(f["device_fingerprint"], []).append(
            {"workload": f["workload"], "metric": f["metric"], "pct": 100 * math.expm1(f["floor"]),
             "n": f["n_pairs"], "at": f["created_at"]})
    items = []
    if not cells.empty:
        c = cells.assign(device_fingerprint=cells["device_fingerprint"].fillna(""))
        for (device, fp), g in c.sort_values("run_created_at").groupby(["device", "device_fingerprint"], sort=True):
            last = g.iloc[-1]
            facts = json.loads(last["fingerprint_json"]) if isinstance(last["fingerprint_json"], str) else {}
            items.append({"device": device, "fingerprint": fp, "runs": g["run_id"].nunique(), "cells": len(g),
                          "first": g["run_created_at"].iloc[0], "last": last["run_created_at"],
                          "transport": last["transport"],
                          "facts": sorted((str(k), json.dumps(v) if isinstance(v, (dict, list)) else str(v))
                                          for k, v in (facts or {}).items()),
                          "noise": noise.get(fp), "floors": floors.get(fp, [])})
    w.page("devices.html", "devices.html.j2", "devices", items=items)


# ---------------------------------------------------------------------------- regressions
def alert_record(a: Alert, alert_id: int | None) -> dict[str, Any]:
    return {"id": alert_id, "state": a.state, "device": a.device, "device_fingerprint": a.device_fingerprint,
            "workload": a.workload, "precision": a.precision, "backend": a.backend, "metric": a.metric,
            "run_id": a.run_id, "prev_run_id": a.prev_run_id, "build_id": a.build_id, "prev_build_id": a.prev_build_id,
            "at": a.at, "before": a.before, "after": a.after, "ratio": a.ratio, "p": a.p, "note": a.note,
            "series": f"series/{series_slug(a.series_key)}.html"}


def _write_regressions(w: _Writer, alerts: list[Alert], ids: Mapping[tuple[str, ...], int], base_url: str) -> None:
    order = {s: i for i, s in enumerate(("confirmed", "suspected", "acknowledged", "fixed", "invalid"))}
    newest_first = sorted(alerts, key=lambda a: str(a.at), reverse=True)
    ordered = sorted(newest_first, key=lambda a: order.get(a.state, 9))  # stable: newest first per state
    records = [alert_record(a, ids.get(a.key)) for a in ordered]
    w.page("regressions.html", "regressions.html.j2", "regressions", items=records)
    w.raw("regressions.json", json.dumps({"alerts": records}, indent=1, default=str))
    w.raw("feed.xml", atom_feed(records, base_url))

