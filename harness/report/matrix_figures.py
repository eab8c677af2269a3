"""plotly charts of a results matrix (figure dicts, drawn with Plotly.newPlot; see site/plots.py):

- per workload, grouped bars of the median per device, one bar per precision, CI as error bars;
- speed-up vs fp32 against rel-L2 vs fp32, one trace per device (the speed/accuracy trade-off);
- peak memory per workload x precision, one bar per device;
- energy per inference like the latency bars, only where a device measured it.

A chart without a single value is not returned (an empty plot is never drawn). Values are the
matrix's: nothing is re-derived here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from harness.analysis.results_matrix import DeviceGroup, MatrixCell, MatrixRow, ResultsMatrix
from harness.report.run_figures import PALETTE, PRECISION_ORDER

DEVICE_COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#1b7c83", "#bf3989", "#57606a"]
SYMBOLS = {"fp32": "circle", "fp16": "diamond", "int8": "square", "int8-static": "triangle-up", "int4": "x"}
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
          with_ci: bool) -> list[dict[str, Any]]:
    traces = []
    for p in _precisions(matrix):
        x, y, up, down, text = [], [], [], [], []
        for r in (r for r in rows if r.precision == p):
            for g in matrix.devices:
                c = r.cells[g.key]
                v = value(c) if c.measured else None
                if v is None:
                    continue
                x.append(_label(g, r))
                y.append(v)
                lo = c.ci_low if with_ci and c.ci_low is not None else v
                hi = c.ci_high if with_ci and c.ci_high is not None else v
                up.append(hi - v)
                down.append(v - lo)
                text.append(f"{c.status} · n={c.n}" if with_ci else c.status)
        if not y:
            continue
        trace: dict[str, Any] = {"type": "bar", "name": p, "x": x, "y": y, "marker": {"color": PALETTE.get(p, "#7f7f7f")},
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
        data = _bars(matrix, rows, lambda c: c.latency, with_ci=True)
        if data:
            out.append(Chart(f"latency-{i}", data, {
                "title": {"text": f"{w}: median {metric} per precision per device (95% CI)"}, "barmode": "group",
                "yaxis": {"title": {"text": unit or metric}, "rangemode": "tozero"}, "xaxis": {"type": "category"},
                "margin": MARGIN, "legend": {"title": {"text": "precision"}}}))
    return out


def speedup_vs_error(matrix: ResultsMatrix) -> Chart | None:
    data = []
    for i, g in enumerate(matrix.devices):
        x, y, symbols, text = [], [], [], []
        for r in matrix.rows:
            c = r.cells[g.key]
            if c.measured and c.speedup is not None and c.rel_l2 is not None and c.rel_l2 > 0:  # fp32 itself: 0 error
                x.append(c.rel_l2)
                y.append(c.speedup)
                symbols.append(SYMBOLS.get(r.precision, "circle"))
                text.append(f"{r.workload} · {r.precision}" + (f" · {r.backend}" if r.backend else ""))
        if y:
            data.append({"type": "scatter", "mode": "markers", "name": g.key, "x": x, "y": y, "text": text,
                         "marker": {"size": 11, "symbol": symbols, "color": DEVICE_COLOURS[i % len(DEVICE_COLOURS)]},
                         "hovertemplate": "%{text}<br>rel-L2 %{x:.2e}<br>%{y:.2f}× fp32<extra>%{fullData.name}</extra>"})
    if not data:
        return None
    return Chart("speedup-error", data, {
        "title": {"text": "Speed-up vs fp32 against output error, per device (marker: precision)"},
        "xaxis": {"type": "log", "title": {"text": "rel-L2 vs fp32 (log)"}, "exponentformat": "e"},
        "yaxis": {"title": {"text": "speed-up vs fp32 (×, higher is faster)"}},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "yref": "y", "y0": 1, "y1": 1,
                    "line": {"dash": "dot", "color": "#888"}}],
        "margin": MARGIN, "legend": {"title": {"text": "device"}}})


def _by_device(matrix: ResultsMatrix, value: Callable[[MatrixCell], float | None]) -> list[dict[str, Any]]:
    data = []
    for i, g in enumerate(matrix.devices):
        x, y = [], []
        for r in matrix.rows:
            c = r.cells[g.key]
            v = value(c) if c.measured else None
            if v is not None:
                x.append(f"{r.workload} · {r.precision}" + (f" · {r.backend}" if r.backend else ""))
                y.append(v)
        if y:
            data.append({"type": "bar", "name": g.key, "x": x, "y": y,
                         "marker": {"color": DEVICE_COLOURS[i % len(DEVICE_COLOURS)]},
                         "hovertemplate": "%{x}<br>%{y:.4g}<extra>%{fullData.name}</extra>"})
    return data


def memory_bars(matrix: ResultsMatrix) -> Chart | None:
    data = _by_device(matrix, lambda c: c.memory_mb)
    if not data:
        return None
    return Chart("memory", data, {"title": {"text": "Peak memory per precision, per device (MB)"}, "barmode": "group",
                                  "yaxis": {"title": {"text": "MB"}, "rangemode": "tozero"},
                                  "xaxis": {"type": "category"}, "margin": MARGIN,
                                  "legend": {"title": {"text": "device"}}})


def energy_bars(matrix: ResultsMatrix) -> Chart | None:
    data = _by_device(matrix, lambda c: c.energy_mj)
    if not data:
        return None
    return Chart("energy", data, {"title": {"text": "Energy per inference, per device (mJ)"}, "barmode": "group",
                                  "yaxis": {"title": {"text": "mJ"}, "rangemode": "tozero"},
                                  "xaxis": {"type": "category"}, "margin": MARGIN,
                                  "legend": {"title": {"text": "device"}}})


def matrix_charts(matrix: ResultsMatrix) -> list[Chart]:
    charts = latency_bars(matrix)
    charts += [c for c in (speedup_vs_error(matrix), memory_bars(matrix), energy_bars(matrix)) if c is not None]
    return charts
