"""Plotly charts as plain figure dicts embedded with Plotly.newPlot (plotly.js loaded once per site).

Building dicts instead of plotly.graph_objects keeps publishing a 365-run history fast, and
the JSON is made safe for a <script> element here, in one place: every '<', '>', '&' and the
JS line separators are \\u-escaped, so a device named </script><script>... stays a string.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from harness.analysis.history import Series
from harness.analysis.run_table import SANE_CEILING

COLORS = {"REGRESSED": "#cf222e", "IMPROVED": "#1a7f37"}
SERIES_CHART_MIN_RUNS = 3  # fewer runs: the series page shows the numbers, not a one-dot chart
MIN_TIME_SPAN = pd.Timedelta(days=1)  # a date axis spans at least this much: no sub-second ticks


def _finite_only(value: Any) -> Any:
    """Non-finite floats become null: a NaN or an inf from a device never breaks a page's JSON."""
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_only(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_only(v) for v in value]
    if isinstance(value, np.ndarray):
        return _finite_only(value.tolist())
    return value


def script_json(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=False, default=_default, separators=(",", ":"))
    except ValueError:  # a NaN / inf somewhere: walk the value once more, replacing them
        text = json.dumps(_finite_only(value), allow_nan=False, default=_default, separators=(",", ":"))
    for ch, rep in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"),
                    ("\u2029", "\\u2029")):
        text = text.replace(ch, rep)
    return text


def _default(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def plot_div(div_id: str, data: list[dict[str, Any]], layout: dict[str, Any], height: int = 420) -> Markup:
    safe_id = escape(div_id)
    return Markup(
        '<div class="figure plot" id="{id}" style="height:{h}px"></div>'
        '<script>Plotly.newPlot("{id}",{data},{layout},{{"displaylogo":false,"responsive":true}});</script>'
    ).format(id=safe_id, h=int(height), data=Markup(script_json(data)), layout=Markup(script_json(layout)))


def _clean(values: Any) -> list[float | None]:
    """Values to draw: missing, non-finite and absurd ones (beyond SANE_CEILING) become gaps."""
    return [None if v is None or not np.isfinite(v) or abs(v) > SANE_CEILING else float(v)
            for v in np.asarray(values, dtype=float)]


def series_figure(s: Series) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Median line with the IQR band, change points marked, run and build ids on hover."""
    p = s.points
    x, x_range = run_dates(p["run_created_at"])
    custom = [[str(r), str(b), int(n)] for r, b, n in zip(p["run_id"], p["build_id"], p["n"], strict=True)]
    unit = s.unit or ""
    data: list[dict[str, Any]] = [
        {"type": "scatter", "x": x, "y": _clean(p["q3"]), "mode": "lines", "line": {"width": 0},
         "hoverinfo": "skip", "showlegend": False, "name": "q3"},
        {"type": "scatter", "x": x, "y": _clean(p["q1"]), "mode": "lines", "line": {"width": 0},
         "fill": "tonexty", "fillcolor": "rgba(9,105,218,0.18)", "hoverinfo": "skip", "name": "IQR"},
        {"type": "scatter", "x": x, "y": _clean(p["median"]), "mode": "lines+markers", "name": "median",
         "line": {"color": "#0969da"}, "marker": {"size": 4}, "customdata": custom,
         "hovertemplate": "%{x}<br>median %{y:.4g} " + unit.replace("%", "%%")
                          + "<br>run %{customdata[0]}<br>build %{customdata[1]}<br>n=%{customdata[2]}<extra></extra>"},
    ]
    if s.changes:
        idx = [c.index for c in s.changes]
        data.append({
            "type": "scatter", "mode": "markers", "name": "change point",
            "x": [x[i] for i in idx], "y": [float(p["median"].iloc[i]) for i in idx],
            "marker": {"size": 14, "symbol": "triangle-up",
                       "color": [COLORS["REGRESSED"] if c.worse else COLORS["IMPROVED"] for c in s.changes]},
            "customdata": [[custom[c.index][0], custom[c.index][1], f"x{c.ratio:.3f}", f"{c.p:.2g}"]
                           for c in s.changes],
            "hovertemplate": "change at run %{customdata[0]}<br>build %{customdata[1]}<br>%{customdata[2]}"
                             " (p %{customdata[3]})<extra></extra>",
        })
    shapes = [{"type": "line", "xref": "x", "yref": "paper", "x0": x[c.index], "x1": x[c.index], "y0": 0, "y1": 1,
               "line": {"color": COLORS["REGRESSED"] if c.worse else COLORS["IMPROVED"], "dash": "dot"}}
              for c in s.changes]
    layout = {"title": {"text": s.label},
              "xaxis": {"type": "date", "title": {"text": "run date (UTC)"}, "range": x_range,
                        "tickformat": "%Y-%m-%d\n%H:%M", "hoverformat": "%Y-%m-%d %H:%M:%S"},
              "yaxis": {"title": {"text": f"{s.key[4]} ({unit})" if unit else s.key[4]}}, "shapes": shapes,
              "margin": {"l": 60, "r": 20, "t": 50, "b": 50}, "hovermode": "closest"}
    return data, layout


def run_dates(created: Any) -> tuple[list[str], list[str]]:
    """Run creation times as plotly date strings (UTC, no offset: plotly does not parse one) and
    an axis range of at least MIN_TIME_SPAN around them, so runs minutes apart are not plotted
    on an axis of milliseconds."""
    t = pd.to_datetime(pd.Series(list(created), dtype=object), utc=True, format="ISO8601")
    lo, hi = t.min(), t.max()
    if hi - lo < MIN_TIME_SPAN:
        mid = lo + (hi - lo) / 2
        lo, hi = mid - MIN_TIME_SPAN / 2, mid + MIN_TIME_SPAN / 2
    else:
        pad = (hi - lo) * 0.03
        lo, hi = lo - pad, hi + pad
    fmt = "%Y-%m-%d %H:%M:%S.%f"
    return [v.strftime(fmt) for v in t], [lo.strftime(fmt), hi.strftime(fmt)]


def heatmap_figure(devices: list[str], workloads: list[str], z: list[list[float | None]],
                   text: list[list[str]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Devices x cells ("workload · precision"); z = % change in the bad direction (> 0 red: regressed, < 0 green:
    improved) where significant, 0 (neutral) where not, None where no data."""
    finite = [abs(v) for row in z for v in row if v]
    lim = max(finite) if finite else 10.0
    short = [[t.split(" ", 1)[0] if t[:1] in "+-" and "n.s." not in t else t for t in row] for row in text]
    data = [{"type": "heatmap", "x": workloads, "y": devices, "z": z, "text": short, "customdata": text,
             "texttemplate": "%{text}", "hovertemplate": "%{y} · %{x}<br>%{customdata}<extra></extra>",
             "colorscale": [[0, "#1a7f37"], [0.5, "#f6f8fa"], [1, "#cf222e"]], "zmin": -lim, "zmax": lim,
             "zmid": 0, "colorbar": {"title": {"text": "% worse"}}, "xgap": 2, "ygap": 2, "hoverongaps": False}]
    layout = {"title": {"text": "Latest change per device and cell (coloured only where significant)"},
              "xaxis": {"type": "category", "automargin": True, "tickangle": -30},
              "yaxis": {"type": "category", "automargin": True},
              "plot_bgcolor": "#eaeef2", "margin": {"l": 20, "r": 20, "t": 50, "b": 50}}
    return data, layout
