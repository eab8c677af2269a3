"""plotly figures for one run: latency distributions (the matrix charts are in matrix_figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

PRECISION_ORDER = ["fp32", "fp16", "int8", "int8-static", "int4"]
PALETTE = {"fp32": "#1f77b4", "fp16": "#2ca02c", "int8": "#ff7f0e", "int8-static": "#d62728", "int4": "#9467bd"}


def _layout(fig: go.Figure, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title=title, height=height, margin=dict(l=60, r=20, t=50, b=60), template="plotly_white")
    return fig


def latency_distributions(table: pd.DataFrame, samples: dict[int, np.ndarray]) -> list[tuple[str, go.Figure]]:
    """One box plot per workload: the raw samples of each cell's headline series."""
    out = []
    for workload, g in table[table["status"].isin(["ok", "accuracy_fail"])].groupby("workload"):
        fig = go.Figure()
        for row in g.itertuples():
            data = samples.get(row.cell_id)
            if data is None or not len(data):
                continue
            label = f"{row.precision} · {row.backend}" + (f" · {row.device}" if g["device"].nunique() > 1 else "")
            fig.add_trace(go.Box(y=data, name=label, boxpoints="outliers",
                                 marker_color=PALETTE.get(row.precision, "#7f7f7f")))
        if fig.data:
            unit = g["unit"].iloc[0] or "ms"
            metric = g["metric"].iloc[0]
            _layout(fig, f"{workload}: {metric} distribution ({unit})")
            fig.update_layout(showlegend=False, yaxis_title=unit)
            out.append((str(workload), fig))
    return out
