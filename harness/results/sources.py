"""Resolve a compare argument (run id, run reference, build id or result file) to one comparison side.

A run id, or a reference (``latest``, ``latest~N``) -> that run's cells. A build id -> for
every (workload, precision, backend, device) the cell of the latest run of that build that
has it ("latest run of each on the same devices"). A file -> a JSON export of a run (harness
export --format json) or a pytest-benchmark JSON file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.compare import CELL_KEY, Side
from harness.errors import HarnessError
from harness.results.exporters.pytest_benchmark import is_pytest_benchmark, read_pytest_benchmark
from harness.results.run_refs import RunFilter, parse_ref, resolve_run
from harness.results.store import Store

METRIC_COLUMNS = ["device", "device_fingerprint", "workload", "precision", "backend", "build_id",
                  "artifact_sha256", "metric", "unit", "method", "status", "error", "kind", "value", "samples"]


def resolve_side(spec: str, store: Store | None, *, which: str = "A", counted: RunFilter = RunFilter()) -> Side:
    """``counted`` narrows which runs ``latest`` / ``latest~N`` count (see results.run_refs)."""
    path = Path(spec)
    if path.is_file():
        return side_from_file(path)
    if store is not None and parse_ref(spec) is not None:
        run_id = resolve_run(store, spec, counted)
        return side_from_runs(store, [run_id], label=f"run {run_id} ({spec})")
    if store is not None:
        runs = [r for r in store.list_runs() if r["run_id"] == spec]
        if runs:
            return side_from_runs(store, [spec], label=f"run {spec}")
        build_runs = [r["run_id"] for r in store.list_runs() if r.get("build_id") == spec]
        if build_runs:
            return side_from_runs(store, build_runs, label=f"build {spec}", latest_per_cell=True)
    where = f" in {store.shown}" if store is not None else ""
    raise HarnessError(f"{which}: {spec!r} is not a run id, a build id{where}, a run reference (latest, latest~N) "
                       f"or a result file")


def side_from_runs(store: Store, run_ids: Sequence[str], *, label: str, latest_per_cell: bool = False) -> Side:
    cells = store.cells_frame(run_ids)
    if latest_per_cell and not cells.empty:
        cells = (
            cells.sort_values(["run_created_at", "id"])
            .drop_duplicates(subset=[*CELL_KEY, "device"], keep="last")
        )
    cells = cells.assign(device_fingerprint=cells["device_fingerprint"].fillna(""))
    metrics = store.metrics_frame(run_ids)
    metrics = metrics[metrics["cell_id"].isin(set(cells["id"]))]
    metrics = metrics.merge(cells[["id", "error"]].rename(columns={"id": "cell_id"}), on="cell_id", how="left")
    noisy_ids = metrics.loc[metrics["kind"] == "noisy", "cell_id"].unique().tolist()
    raw = store.samples_for(noisy_ids)
    metrics["samples"] = [raw.get((int(c), m)) for c, m in zip(metrics["cell_id"], metrics["metric"], strict=True)]
    metrics["device_fingerprint"] = metrics["device_fingerprint"].fillna("")
    return Side(label=label, metrics=metrics.reset_index(drop=True), cells=cells.reset_index(drop=True))


def pool_rounds(side: Side, label: str | None = None) -> Side:
    """Merge several runs of one build (interleaved rounds) into one side: raw samples of a
    (cell, metric) are concatenated; a value is the median of the pooled samples (noisy) or of
    the per-round values (deterministic). A cell counts as failed if any round failed."""
    m = side.metrics
    if m.empty:
        return side
    rows = []
    for _, g in m.groupby([*CELL_KEY, "device", "metric"], sort=False, dropna=False):
        first = g.iloc[0].to_dict()
        parts = [s for s in g["samples"] if s is not None and len(s)]
        pooled = np.concatenate(parts) if parts else None
        vals = g["value"].dropna()
        first["samples"] = pooled
        first["value"] = float(np.median(pooled)) if pooled is not None else (float(vals.median()) if len(vals) else None)
        bad = g[~g["status"].isin(["ok", "accuracy_fail"])]
        if len(bad):
            first["status"], first["error"] = bad.iloc[0]["status"], bad.iloc[0]["error"]
        rows.append(first)
    cells = side.cells.sort_values("status", key=lambda s: s.isin(["ok", "accuracy_fail"]))
    cells = cells.drop_duplicates(subset=[*CELL_KEY, "device"], keep="first")
    return Side(label=label or side.label, metrics=pd.DataFrame(rows).reset_index(drop=True),
                cells=cells.reset_index(drop=True))


def side_from_file(path: Path) -> Side:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: cannot read a result file: {exc}") from exc
    if is_pytest_benchmark(doc):
        metrics, cells = read_pytest_benchmark(doc)
        return Side(label=f"file {path.name}", metrics=metrics, cells=cells)
    if isinstance(doc, dict) and isinstance(doc.get("cells"), list):
        metrics, cells = _read_export(doc, path)
        return Side(label=f"file {path.name}", metrics=metrics, cells=cells)
    raise HarnessError(f"{path}: not a harness JSON export (no 'cells' list) nor a pytest-benchmark file")


def _read_export(doc: dict[str, Any], path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The JSON export of a run: {"run": {...}, "cells": [{identity..., "metrics": [...], "samples": {...}}]}."""
    rows, cells = [], []
    for i, cell in enumerate(doc["cells"]):
        try:
            ident = {k: cell.get(k) for k in ("device", "workload", "precision", "backend", "build_id",
                                               "artifact_sha256", "status", "error")}
            ident["device_fingerprint"] = cell.get("device_fingerprint") or ""
            cells.append({k: ident[k] for k in (*CELL_KEY, "device", "status", "error")})
            samples = cell.get("samples") or {}
            for m in _metric_list(cell.get("metrics")):
                raw = samples.get(m["name"])
                rows.append({**ident, "metric": m["name"], "unit": m.get("unit"), "method": m.get("method"),
                             "kind": m.get("kind") or "noisy", "value": m.get("value"),
                             "samples": None if raw is None else np.asarray(raw, dtype=float)})
        except (KeyError, TypeError, AttributeError) as exc:
            raise HarnessError(f"{path}: cells[{i}]: malformed cell ({exc})") from exc
    return pd.DataFrame(rows, columns=METRIC_COLUMNS), pd.DataFrame(cells, columns=[*CELL_KEY, "device", "status",
                                                                                    "error"])


def _metric_list(metrics: Any) -> list[dict[str, Any]]:
    if isinstance(metrics, dict):  # {"name": {"value":..., "unit":...}} is accepted too
        return [{"name": k, **v} for k, v in metrics.items()]
    return list(metrics or [])
