"""JSON: the whole run, each cell with its metrics and raw samples (compare reads it back)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.results.schema import SCHEMA_VERSION

if TYPE_CHECKING:
    from harness.results.exporters import RunBundle

CELL_FIELDS = ("cell_key", "device", "workload", "precision", "backend", "status", "error", "transport",
               "device_fingerprint", "build_id", "artifact_sha256", "ort_version", "ep_requested", "ep_used",
               "ep_fallback", "started_at", "finished_at", "wall_s", "measure_s", "attempts")


def _clean(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def to_document(bundle: RunBundle) -> dict[str, Any]:
    by_cell = {cid: g for cid, g in bundle.metrics.groupby("cell_id")} if not bundle.metrics.empty else {}
    cells = []
    for cell in bundle.cells.to_dict("records"):
        g = by_cell.get(cell["id"])
        metrics = [] if g is None else [
            {"name": r["metric"], "value": _clean(r["value"]), "unit": _clean(r["unit"]), "kind": r["kind"],
             "method": _clean(r["method"])} for r in g.to_dict("records")
        ]
        samples = {m: [float(x) for x in v] for (cid, m), v in bundle.samples.items() if cid == cell["id"]}
        doc = {k: _clean(cell.get(k)) for k in CELL_FIELDS}
        doc["fingerprint"] = json.loads(cell["fingerprint_json"]) if cell.get("fingerprint_json") else {}
        doc["result"] = json.loads(cell["result_json"]) if cell.get("result_json") else {}
        doc["metrics"] = metrics
        doc["samples"] = samples
        cells.append(doc)
    return {"format": "harness-run", "schema_version": SCHEMA_VERSION, "run": bundle.run, "cells": cells}


def export(bundle: RunBundle, path: Path) -> Path:
    path.write_text(json.dumps(to_document(bundle), indent=1, default=str))
    return path
