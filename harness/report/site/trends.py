"""Trends on the overview, asv-style: one small chart per workload, its headline series over builds.

x is the build (in the order builds were first run), y the median of the series' run medians of
that build; one line per device × precision (× backend), coloured by precision as on every chart
of the site. A line of a single build says nothing about a trend and is left out; a workload
with no line left has no chart (never a chart with a single point).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.analysis.history import Series
from harness.analysis.run_table import headline_metric
from harness.report.run_figures import PALETTE, PRECISION_ORDER
from harness.report.units import common_unit

DASHES = ["solid", "dot", "dash", "dashdot", "longdash", "longdashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "cross", "star"]
MIN_BUILDS = 2


@dataclass(frozen=True)
class Trend:
    workload: str
    metric: str
    data: list[dict[str, Any]]
    layout: dict[str, Any]


def _per_build(s: Series) -> dict[str, tuple[str, float]]:
    """build id -> (its first run's date, the median of its runs' medians); plain Python: a
    pandas groupby per series costs ~0.1 s, 5 s for a 50-series farm."""
    runs: dict[str, tuple[str, list[float]]] = {}
    for build, at, median in zip(s.points["build_id"], s.points["run_created_at"], s.points["median"]):
        try:
            v = float(median)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(v):
            continue
        key = "?" if build is None or (isinstance(build, float) and math.isnan(build)) else str(build)
        first, values = runs.setdefault(key, (str(at), []))
        values.append(v)
        runs[key] = (min(first, str(at)), values)
    return {b: (first, statistics.median(vals)) for b, (first, vals) in runs.items()}


def _rank(p: str) -> tuple[int, str]:
    return (PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER), p)


def trends(series: Sequence[Series]) -> list[Trend]:
    by_workload: dict[str, list[Series]] = {}
    for s in series:
        by_workload.setdefault(s.key[0], []).append(s)
    devices = sorted({s.device for s in series})
    out = []
    for workload, group in sorted(by_workload.items()):
        head = headline_metric(sorted({s.key[4] for s in group}))
        if head is None:
            continue
        lines = [(s, _per_build(s)) for s in group if s.key[4] == head]
        lines = [(s, b) for s, b in lines if len(b) >= MIN_BUILDS]
        if not lines:
            continue
        first: dict[str, str] = {}
        for _, b in lines:
            for build, (at, _) in b.items():
                first[build] = min(first.get(build, at), at)
        builds = sorted(first, key=lambda x: (first[x], x))  # the order the builds were first run in
        unit, factor = common_unit([v for _, b in lines for _, v in b.values()], lines[0][0].unit)
        backends = len({s.key[2] for s, _ in lines}) > 1
        data = []
        for s, b in sorted(lines, key=lambda sb: (_rank(sb[0].key[1]), sb[0].device, sb[0].key[2])):
            k = devices.index(s.device)
            name = f"{s.key[1]} · {s.device}" + (f" · {s.key[2]}" if backends else "")
            xs = [x for x in builds if x in b]
            data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": xs,
                         "y": [b[x][1] * factor for x in xs],
                         "line": {"color": PALETTE.get(s.key[1], "#7f7f7f"), "dash": DASHES[k % len(DASHES)]},
                         "marker": {"symbol": SYMBOLS[k % len(SYMBOLS)], "size": 6},
                         "hovertemplate": "build %{x}<br>%{y:.3g} " + (unit or "").replace("%", "%%")
                                          + "<extra>%{fullData.name}</extra>"})
        layout = {"title": {"text": f"{workload}: {head} over builds", "font": {"size": 13}},
                  "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": builds,
                            "title": {"text": "build"}, "automargin": True},
                  "yaxis": {"title": {"text": unit or head}, "rangemode": "tozero"},
                  "legend": {"title": {"text": "precision · device"}, "font": {"size": 10}},
                  "margin": {"l": 50, "r": 10, "t": 40, "b": 40}}
        out.append(Trend(str(workload), head, data, layout))
    return out
