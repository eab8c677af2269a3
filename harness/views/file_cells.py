"""Result files as table cells: a ``llama-bench -o json`` file, a pytest-benchmark file or a JSON
export, read by the same loader ``compare`` uses (results.sources.side_from_file), laid out like the
store's frames (cells_frame, metrics_frame, samples_for) so ``table`` puts them beside stored runs.

A file has no store ids: its cells get negative ids (never a stored cell's) and its run id is the
file's own (results.sources). A llama-bench file's cells name llama.cpp as their runtime.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from harness.records import CELL_KEY, Side
from harness.results.exporters.llama_bench import is_foreign
from harness.results.sources import side_from_file
from harness.runtimes.llamacpp import LLAMACPP

#: the store frames' columns the results matrix reads
CELL_FRAME = ["id", "run_id", "run_created_at", "cell_key", "device", "workload", "precision", "backend", "status",
              "error", "device_fingerprint", "build_id", "artifact_sha256", "result_json"]
METRIC_FRAME = ["cell_id", "run_id", "run_created_at", "device", "workload", "precision", "backend", "status",
                "device_fingerprint", "build_id", "artifact_sha256", "metric", "value", "unit", "kind", "method"]


@dataclass
class FileCells:
    cells: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CELL_FRAME))
    metrics: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=METRIC_FRAME))
    samples: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)


def is_file_ref(ref: str) -> bool:
    return Path(ref).is_file()


def side_cells(side: Side, first_id: int = -1) -> FileCells:
    """The side's cells and metrics as store-shaped frames, ids counting down from ``first_id``."""
    runtime = LLAMACPP if is_foreign(side) else None
    result_json = json.dumps({"identity": {"runtime": runtime}}) if runtime else None
    m = side.metrics
    key = ["run_id", *CELL_KEY]
    ids: dict[tuple[object, ...], int] = {}
    cell_rows = []
    for rec in side.cells.to_dict("records"):
        k = tuple(rec[c] for c in key)
        if k in ids:
            continue
        ids[k] = first_id - len(ids)
        cell_rows.append({**{c: rec.get(c) for c in ("run_id", "device", "workload", "precision", "backend", "status",
                                                      "error", "device_fingerprint")},
                          "id": ids[k], "run_created_at": None, "cell_key": "/".join(str(rec[c]) for c in CELL_KEY),
                          "build_id": None, "artifact_sha256": None, "result_json": result_json})
    metric_rows = []
    samples: dict[tuple[int, str], np.ndarray] = {}
    for rec in m.to_dict("records"):
        cid = ids.get(tuple(rec[c] for c in key))
        if cid is None:
            continue
        metric_rows.append({**{c: rec.get(c) for c in METRIC_FRAME if c not in ("cell_id", "run_created_at")},
                            "cell_id": cid, "run_created_at": None})
        if rec.get("samples") is not None:
            samples[(cid, str(rec["metric"]))] = np.asarray(rec["samples"], dtype=float)
    cells = pd.DataFrame(cell_rows, columns=CELL_FRAME)
    builds = pd.DataFrame(metric_rows, columns=METRIC_FRAME).groupby("cell_id")[["build_id", "artifact_sha256"]].first()
    if not cells.empty and not builds.empty:
        cells["build_id"] = cells["id"].map(builds["build_id"])
        cells["artifact_sha256"] = cells["id"].map(builds["artifact_sha256"])
    return FileCells(cells, pd.DataFrame(metric_rows, columns=METRIC_FRAME), samples)


def load_files(paths: Sequence[str]) -> FileCells:
    """Every file's cells, one run per file; ids never repeat across files."""
    out = FileCells()
    parts = []
    next_id = -1
    for p in paths:
        part = side_cells(side_from_file(Path(p)), next_id)
        if not part.cells.empty:
            next_id = int(part.cells["id"].min()) - 1
        parts.append(part)
    if parts:
        out.cells = pd.concat([p.cells for p in parts], ignore_index=True)
        out.metrics = pd.concat([p.metrics for p in parts], ignore_index=True)
        for part in parts:
            out.samples.update(part.samples)
    return out
