"""Build the static site from a results store: every page opens from file://, plotly.js is
written once at the root, every user string goes through autoescaped templates or script_json.

Layout:  index.html (results matrix + charts, then changes)   runs.html + runs/<run>/index.html (last N runs)
         series/index.html + series/<id>.html     compare/index.html + compare/<device>.html
         devices.html   regressions.html + regressions.json + feed.xml (Atom)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from markupsafe import Markup

from harness.analysis.history import Series, series_slug
from harness.analysis.noise import as_percent
from harness.analysis.thresholds import Thresholds
from harness.records import Alert
from harness.report.plotlyjs import PLOTLY_JS, write_plotlyjs
from harness.report.render_compare import render_html as render_compare_html
from harness.report.results_section import results_section
from harness.report.run_report import write_run_report
from harness.report.site.feed import atom_feed
from harness.report.site.plots import SERIES_CHART_MIN_RUNS, heatmap_figure, plot_div, series_figure
from harness.report.site.swap import fresh_site
from harness.report.site.templates import render
from harness.report.site.trends import trends
from harness.results.store import Store
from harness.views.changes import DeviceChanges
from harness.views.site import DeviceCompare, ExtraCompare, SiteData, device_items, regression_records, site_data


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
    thresholds: Thresholds | None = None,
    base_url: str | None = None,
    pairs: Sequence[tuple[str, str]] = (),
) -> SiteResult:
    """Write the whole site; ``pairs`` adds compare pages for (A, B) run/build ids or files.

    It renders what ``views.site`` prepares and never writes the store: the alerts shown are those
    `harness history`, `harness alerts` or a farm night last synced. The pages go into a fresh folder
    that replaces ``out`` in one step at the end (swap.py): a publish that dies half-way leaves the
    old site whole."""
    with fresh_site(Path(out)) as stage:
        result = _write_site(store, stage, run_pages=run_pages, thresholds=thresholds,
                             base_url=base_url or Path(out).resolve().as_uri(), pairs=pairs)
    return result.moved_to(Path(out))


def _write_site(
    store: Store,
    out: Path,
    *,
    run_pages: int,
    thresholds: Thresholds | None,
    base_url: str,
    pairs: Sequence[tuple[str, str]],
) -> SiteResult:
    out = Path(out)
    result = SiteResult(out)
    w = _Writer(out, result)
    write_plotlyjs(out)  # the one copy every chart page of the site loads

    data = site_data(store, thresholds=thresholds, pairs=pairs)
    _write_compares(w, data.latest, data.extra)
    _write_overview(w, data)
    _write_runs(w, store, data.runs, data.all_cells, run_pages, data.changes)
    _write_series(w, data.series, data.alerts)
    w.page("devices.html", "devices.html.j2", "devices", items=device_items(store, data.history_cells, data.series))
    _write_regressions(w, data, base_url)
    return result


# ---------------------------------------------------------------------------- compares
def compare_page(device: str) -> str:
    return f"compare/{slug(device)}.html"


def _write_compares(w: _Writer, latest: list[DeviceCompare], extra: Sequence[ExtraCompare]) -> None:
    for dc in latest:
        html = render_compare_html(dc.cmp, w.out / "compare", plotlyjs="../" + PLOTLY_JS, root="../")
        w.raw(compare_page(dc.device), html)
    items = [{"href": slug(dc.device) + ".html", "device": dc.device, "prev": dc.prev_run, "last": dc.last_run,
              "counts": dc.cmp.counts()} for dc in latest]
    for x in extra:
        name = f"ab-{slug(Path(x.a).name)}--{slug(Path(x.b).name)}.html"
        w.raw(f"compare/{name}", render_compare_html(x.cmp, w.out / "compare", plotlyjs="../" + PLOTLY_JS, root="../"))
        items.append({"href": name, "device": "(all)", "prev": x.cmp.a_label, "last": x.cmp.b_label,
                      "counts": x.cmp.counts()})
    w.page("compare/index.html", "compare_index.html.j2", "compares", items=items)


# ---------------------------------------------------------------------------- overview
def _write_overview(w: _Writer, data: SiteData) -> None:
    """Results first (the farm's state: each cell's latest complete result, dated, with its charts
    and the trends over builds), then changes (the heatmap whose red tiles are the alert count)."""
    matrix = data.matrix
    results = results_section(matrix, id_prefix="overview", dated=True)
    ov = data.overview
    drawn = any(v is not None for row in ov.z for v in row)  # an all-empty heatmap is a grey box: not drawn
    figure = plot_div("overview-heatmap", *heatmap_figure(ov.devices, ov.columns, ov.z, ov.text),
                      height=max(260, 120 + 46 * len(ov.devices))) if drawn else None
    trend_divs = [plot_div(f"overview-trend-{i}", t.data, t.layout, height=300)
                  for i, t in enumerate(trends(data.series))]
    pages = {dc.device: compare_page(dc.device) for dc in data.latest}
    w.page("index.html", "overview.html.j2", "overview", charts=True, figure=figure, runs=len(data.runs),
           latest=data.runs[0] if data.runs else None, open_alerts=len(data.open_alerts), results=results,
           devices=data.state.devices, trends=trend_divs, regressed=len(ov.regressed),
           regressed_cells=[" · ".join(k) for k in sorted(ov.regressed)], judged=bool(data.latest),
           compares=[{"href": pages.get(ch.device), "device": ch.device, "last": ch.last_run,
                      "baseline": ch.baseline_label, "without_baseline": ch.without_baseline,
                      "counts": ch.cmp.counts() if ch.cmp else None, "exit": ch.cmp.exit_code() if ch.cmp else None}
                     for ch in data.changes])


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
               changes=changes, min_runs=SERIES_CHART_MIN_RUNS, sigma_pct=as_percent(s.sigma_run),
               alerts=by_series.get(s.key, []), last=float(s.points["median"].iloc[-1]))
        items.append({"href": f"{s.slug}.html", "s": s, "runs": len(s.points), "changes": len(s.changes),
                      "last": float(s.points["median"].iloc[-1])})
    w.page("series/index.html", "series_index.html.j2", "series", items=items)


# ---------------------------------------------------------------------------- regressions
def _write_regressions(w: _Writer, data: SiteData, base_url: str) -> None:
    records = regression_records(data.alerts, data.alert_ids)
    w.page("regressions.html", "regressions.html.j2", "regressions", items=records)
    w.raw("regressions.json", json.dumps({"alerts": records}, indent=1, default=str))
    w.raw("feed.xml", atom_feed(records, base_url))
