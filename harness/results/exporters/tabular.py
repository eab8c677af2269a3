"""CSV and Parquet: tidy frames, one row per (cell, metric), identity columns repeated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from harness.records import labels, parse_flags

if TYPE_CHECKING:
    from harness.results.exporters import RunBundle

CELL_COLUMNS = ["run_id", "cell_key", "device", "workload", "precision", "backend", "status", "error", "transport",
                "device_fingerprint", "build_id", "artifact_sha256", "ort_version", "ep_requested", "ep_used",
                "ep_fallback"]


def _flags(result_json: object) -> str:
    """The cell's flags as their short labels (a column beside every row of the cell)."""
    result = json.loads(result_json) if isinstance(result_json, str) and result_json else {}
    return labels(parse_flags(result.get("flags")))


def tidy(bundle: RunBundle) -> pd.DataFrame:
    """Every cell (failed and skipped too, with an empty metric) x its metrics."""
    cells = bundle.cells[["id", *CELL_COLUMNS]].rename(columns={"id": "cell_id"})
    cells = cells.assign(flags=[_flags(r) for r in bundle.cells["result_json"]] if len(cells) else [])
    metrics = bundle.metrics[["cell_id", "metric", "value", "unit", "kind", "method"]]
    return cells.merge(metrics, on="cell_id", how="left").drop(columns=["cell_id"])


def export_csv(bundle: RunBundle, path: Path) -> Path:
    tidy(bundle).to_csv(path, index=False)
    return path


def export_parquet(bundle: RunBundle, path: Path) -> Path:
    tidy(bundle).to_parquet(path, index=False)
    return path
