"""Trends on the overview, asv-style: one small chart per workload, its headline series over builds.

x is the build (in the order builds were first run), y the median of the series' run medians of
that build; one line per device × precision (× backend), coloured by precision as on every chart
of the site. A line of a single build says nothing about a trend and is left out; a workload
with no line left has no chart (never a chart with a single point).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

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


def _per_build(s: Series) -> pd.DataFrame:
    p = s.points[["build_id", "run_created_at", "median"]].copy()
    p["build_id"] = p["build_id"].fillna("?").astype(str)
    p = p[pd.to_numeric(p["median"], errors="coerce").notna()]
    return p.groupby("build_id", sort=False).agg(first=("run_created_at", "min"), median=("median", "median"))


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
        builds = pd.concat([b for _, b in lines]).groupby(level=0)["first"].min().sort_values()
        unit, factor = common_unit([v for _, b in lines for v in b["median"]], lines[0][0].unit)
        backends = len({s.key[2] for s, _ in lines}) > 1
        data = []
        for s, b in sorted(lines, key=lambda sb: (_rank(sb[0].key[1]), sb[0].device, sb[0].key[2])):
            k = devices.index(s.device)
            name = f"{s.key[1]} · {s.device}" + (f" · {s.key[2]}" if backends else "")
            b = b.loc[[x for x in builds.index if x in b.index]]
            data.append({"type": "scatter", "mode": "lines+markers", "name": name, "x": list(b.index),
                         "y": [float(v) * factor for v in b["median"]],
                         "line": {"color": PALETTE.get(s.key[1], "#7f7f7f"), "dash": DASHES[k % len(DASHES)]},
                         "marker": {"symbol": SYMBOLS[k % len(SYMBOLS)], "size": 6},
                         "hovertemplate": "build %{x}<br>%{y:.3g} " + (unit or "").replace("%", "%%")
                                          + "<extra>%{fullData.name}</extra>"})
        layout = {"title": {"text": f"{workload}: {head} over builds", "font": {"size": 13}},
                  "xaxis": {"type": "category", "categoryorder": "array", "categoryarray": list(builds.index),
                            "title": {"text": "build"}, "automargin": True},
                  "yaxis": {"title": {"text": unit or head}, "rangemode": "tozero"},
                  "legend": {"title": {"text": "precision · device"}, "font": {"size": 10}},
                  "margin": {"l": 50, "r": 10, "t": 40, "b": 40}}
        out.append(Trend(str(workload), head, data, layout))
    return out
