"""plotly figures for one run: latency distributions (the matrix charts are in matrix_figures)."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from harness.analysis.run_table import SANE_CEILING
from harness.report.units import common_unit

PRECISION_ORDER = ["fp32", "fp16", "int8", "int8-static", "int4"]
# A box plot of 100 k raw samples is megabytes of page; this many evenly spaced quantiles of them
# draw the same distribution (min, quartiles, max kept) at a fixed size.
DISPLAY_POINTS = 2000
PALETTE = {"fp32": "#1f77b4", "fp16": "#2ca02c", "int8": "#ff7f0e", "int8-static": "#d62728", "int4": "#9467bd"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    """Title and size; the look (TEMPLATE) is added when the figure is written, see figure_html."""
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=60))
    return fig


TEMPLATE = "plotly_white"


@functools.cache
def _template_json() -> dict[str, Any]:
    return pio.templates[TEMPLATE].to_plotly_json()  # type: ignore[no-any-return]


def figure_html(fig: go.Figure) -> str:
    """A figure's div + script, with the template set as plain JSON: setting it on each figure
    makes plotly validate the whole template again (~0.1-0.2 s a figure)."""
    spec = fig.to_plotly_json()
    spec.setdefault("layout", {})["template"] = _template_json()
    return pio.to_html(spec, full_html=False, include_plotlyjs=False, config={"displaylogo": False}, validate=False)


def display_points(data: np.ndarray, cap: int = DISPLAY_POINTS) -> np.ndarray:
    """The samples themselves, or ``cap`` evenly spaced quantiles of them when there are more."""
    data = np.asarray(data, dtype=float)
    data = data[np.isfinite(data) & (np.abs(data) <= SANE_CEILING)]  # a non-finite or absurd sample is never drawn
    if len(data) <= cap:
        return data
    return np.quantile(data, np.linspace(0.0, 1.0, cap))


def latency_distributions(table: pd.DataFrame, samples: dict[int, np.ndarray]) -> list[tuple[str, go.Figure]]:
    """One box plot per workload: the raw samples of each cell's headline series, coloured by
    precision (as on every chart of the page), in the time unit that fits them, with a legend."""
    out = []
    for workload, g in table[table["status"].isin(["ok", "accuracy_fail"])].groupby("workload"):
        fig = go.Figure()
        unit = g["unit"].iloc[0] or "ms"
        medians = [float(np.median(d)) for d in (samples.get(r.cell_id) for r in g.itertuples())
                   if d is not None and len(d)]
        shown, factor = common_unit(medians, unit)
        for row in g.itertuples():
            data = samples.get(row.cell_id)
            if data is None or not len(data):
                continue
            label = f"{row.precision} · {row.backend}" + (f" · {row.device}" if g["device"].nunique() > 1 else "")
            fig.add_trace(go.Box(y=display_points(data) * factor, name=label, boxpoints="outliers",
                                 legendgroup=str(row.precision), marker_color=PALETTE.get(row.precision, "#7f7f7f")))
        if fig.data:
            metric = g["metric"].iloc[0]
            _layout(fig, f"{workload}: {metric} distribution ({shown})")
            fig.update_layout(showlegend=True, yaxis_title=shown, legend_title_text="precision · backend")
            out.append((str(workload), fig))
    return out
