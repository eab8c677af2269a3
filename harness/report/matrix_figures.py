"""plotly charts of a results matrix (figure dicts, drawn with Plotly.newPlot; see site/plots.py):

- per workload, grouped bars of the median per device, one bar per precision, CI as error bars,
  in the time unit that fits the numbers (µs / ms / s);
- speed-up vs fp32 against rel-L2 vs fp32 (the speed/accuracy trade-off): colour = precision,
  marker = device, each point labelled with its workload;
- peak memory and energy per inference per device × workload, one bar per precision.

A colour means one precision on every chart of a page (run_figures.PALETTE), never a device:
devices are told apart by position or marker shape. Every chart has a legend.

A chart without a single value is not returned (an empty plot is never drawn). Values are the
matrix's: nothing is re-derived here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.analysis.results_matrix import DeviceGroup, MatrixCell, MatrixRow, ResultsMatrix
from harness.report.run_figures import PALETTE, PRECISION_ORDER
from harness.report.units import common_unit

DEVICE_SYMBOLS = ["circle", "square", "diamond", "triangle-up", "x", "star", "cross", "triangle-down"]
OTHER = "#7f7f7f"  # a precision outside the palette
MARGIN = {"l": 60, "r": 20, "t": 50, "b": 80}


@dataclass(frozen=True)
class Chart:
    name: str  # a safe id suffix (never user text)
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    height: int = 360


def _label(g: DeviceGroup, row: MatrixRow) -> str:
    return f"{g.key} · {row.backend}" if row.backend else g.key


def _precisions(matrix: ResultsMatrix) -> list[str]:
    seen = {r.precision for r in matrix.rows}
    return [p for p in PRECISION_ORDER if p in seen] + sorted(seen - set(PRECISION_ORDER))


def _bars(matrix: ResultsMatrix, rows: list[MatrixRow], value: Callable[[MatrixCell], float | None],
          with_ci: bool, label: Callable[[DeviceGroup, MatrixRow], str] = _label,
          factor: float = 1.0) -> list[dict[str, Any]]:
    """One trace (one colour) per precision; ``factor`` converts values into the chart's unit."""
    traces = []
    for p in _precisions(matrix):
        x, y, up, down, text = [], [], [], [], []
        for r in (r for r in rows if r.precision == p):
            for g in matrix.devices:
                c = r.cells[g.key]
                v = value(c) if c.measured else None
                if v is None:
                    continue
                x.append(label(g, r))
                y.append(v * factor)
                lo = c.ci_low if with_ci and c.ci_low is not None else v
                hi = c.ci_high if with_ci and c.ci_high is not None else v
                up.append((hi - v) * factor)
                down.append((v - lo) * factor)
                text.append(f"{c.status} · n={c.n}" if with_ci else c.status)
        if not y:
            continue
        trace: dict[str, Any] = {"type": "bar", "name": p, "x": x, "y": y, "marker": {"color": PALETTE.get(p, OTHER)},
                                 "customdata": text, "hovertemplate": "%{x}<br>%{y:.4g}<br>%{customdata}<extra>" + p
                                 + "</extra>"}
        if with_ci:
            trace["error_y"] = {"type": "data", "array": up, "arrayminus": down, "visible": True, "thickness": 1}
        traces.append(trace)
    return traces


def latency_bars(matrix: ResultsMatrix) -> list[Chart]:
    out = []
    workloads = sorted({(r.workload, r.metric, r.unit) for r in matrix.rows})
    for i, (w, metric, unit) in enumerate(workloads):
        rows = [r for r in matrix.rows if (r.workload, r.metric, r.unit) == (w, metric, unit)]
        shown, factor = common_unit([c.latency for r in rows for c in r.cells.values() if c.measured], unit)
        data = _bars(matrix, rows, lambda c: c.latency, with_ci=True, factor=factor)
        if data:
            out.append(Chart(f"latency-{i}", data, {
                "title": {"text": f"{w}: median {metric} per precision per device (95% CI)"}, "barmode": "group",
                "yaxis": {"title": {"text": shown or metric}, "rangemode": "tozero"}, "xaxis": {"type": "category"},
                "margin": MARGIN, "legend": {"title": {"text": "precision"}}, "showlegend": True}))
    return out


def speedup_vs_error(matrix: ResultsMatrix) -> Chart | None:
    """Colour = precision (as on every chart), marker = device, the workload written beside each point."""
    data = []
    several = len(matrix.devices) > 1
    for p in _precisions(matrix):
        for i, g in enumerate(matrix.devices):
            x, y, text = [], [], []
            for r in (r for r in matrix.rows if r.precision == p):
                c = r.cells[g.key]
                if c.measured and c.speedup is not None and c.rel_l2 is not None and c.rel_l2 > 0:  # fp32: 0 error
                    x.append(c.rel_l2)
                    y.append(c.speedup)
                    text.append(r.workload + (f" · {r.backend}" if r.backend else ""))
            if y:
                data.append({"type": "scatter", "mode": "markers+text", "name": f"{p} · {g.key}" if several else p,
                             "legendgroup": p, "x": x, "y": y, "text": text, "textposition": "top center",
                             "textfont": {"size": 10},
                             "marker": {"size": 11, "symbol": DEVICE_SYMBOLS[i % len(DEVICE_SYMBOLS)],
                                        "color": PALETTE.get(p, OTHER), "line": {"width": 1, "color": "#333"}},
                             "hovertemplate": "%{text}<br>rel-L2 %{x:.2e}<br>%{y:.2f}× fp32<extra>%{fullData.name}"
                                              "</extra>"})
    if not data:
        return None
    return Chart("speedup-error", data, {
        "title": {"text": "Speed-up vs fp32 against output error (colour: precision"
                          + (", marker: device)" if several else ")")},
        "xaxis": {"type": "log", "title": {"text": "rel-L2 vs fp32 (log)"}, "exponentformat": "e"},
        "yaxis": {"title": {"text": "speed-up vs fp32 (×, higher is faster)"}},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": 1, "y1": 1,
                    "line": {"dash": "dot", "color": "#888"}}],
        "margin": MARGIN, "showlegend": True,
        "legend": {"title": {"text": "precision · device" if several else "precision"}}})


def _device_workload(g: DeviceGroup, r: MatrixRow) -> str:
    return f"{g.key} · {r.workload}" + (f" · {r.backend}" if r.backend else "")


def _device_workload_bars(matrix: ResultsMatrix, name: str, value: Callable[[MatrixCell], float | None], what: str,
                          unit: str) -> Chart | None:
    """One bar per precision for each (device, workload), no intervals: a quantity measured once a cell."""
    data = _bars(matrix, matrix.rows, value, with_ci=False, label=_device_workload)
    if not data:
        return None
    return Chart(name, data, {"title": {"text": f"{what} per device and workload, per precision ({unit})"},
                              "barmode": "group", "yaxis": {"title": {"text": unit}, "rangemode": "tozero"},
                              "xaxis": {"type": "category"}, "margin": MARGIN, "showlegend": True,
                              "legend": {"title": {"text": "precision"}}})


def memory_bars(matrix: ResultsMatrix) -> Chart | None:
    return _device_workload_bars(matrix, "memory", lambda c: c.memory_mb, "Peak memory", "MB")


def energy_bars(matrix: ResultsMatrix) -> Chart | None:
    return _device_workload_bars(matrix, "energy", lambda c: c.energy_mj, "Energy per inference", "mJ")


def _points(chart: Chart) -> int:
    return sum(len(t.get("y") or ()) for t in chart.data)


def matrix_charts(matrix: ResultsMatrix) -> list[Chart]:
    """Every chart with something to compare: one with a single point (a 1-cell run's bar, a
    scatter of one dot) says less than the matrix beside it and is left out."""
    charts = latency_bars(matrix)
    charts += [c for c in (speedup_vs_error(matrix), memory_bars(matrix), energy_bars(matrix)) if c is not None]
    return [c for c in charts if _points(c) >= 2]
