"""pytest-benchmark JSON interop: write a run as a pytest-benchmark file, read such files back.

Writing: one benchmark per (cell, time metric) with the raw samples in ``stats.data`` (seconds,
pytest-benchmark's unit) and the cell's identity under ``extra_info.harness`` so a round trip
is lossless. Only time metrics (ms / s / us) are written: pytest-benchmark treats every number
as a duration. Reading: files we wrote come back exactly; foreign files (a project's own
``pytest --benchmark-json``) become cells of workload = benchmark fullname, metric ``time_s``,
device = the machine's node name, fingerprint = a hash of machine_info; raw samples are only
present when pytest ran with ``--benchmark-save-data`` (otherwise compare says INCONCLUSIVE).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

TIME_SCALE = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
FORMAT_VERSION = "5.1.0"


def _stats(data_s: np.ndarray) -> dict[str, Any]:
    q1, med, q3 = (float(v) for v in np.percentile(data_s, [25, 50, 75]))
    iqr = q3 - q1
    mean = float(data_s.mean())
    std = float(data_s.std(ddof=1)) if data_s.size > 1 else 0.0
    lo = float(data_s[data_s >= q1 - 1.5 * iqr].min())
    hi = float(data_s[data_s <= q3 + 1.5 * iqr].max())
    return {
        "min": float(data_s.min()),
        "max": float(data_s.max()),
        "mean": mean,
        "stddev": std,
        "rounds": int(data_s.size),
        "median": med,
        "iqr": iqr,
        "q1": q1,
        "q3": q3,
        "iqr_outliers": int(np.count_nonzero((data_s < q1 - 1.5 * iqr) | (data_s > q3 + 1.5 * iqr))),
        "stddev_outliers": int(np.count_nonzero(np.abs(data_s - mean) > std)) if std else 0,
        "outliers": "",
        "ld15iqr": lo,
        "hd15iqr": hi,
        "ops": 1.0 / mean if mean else 0.0,
        "total": float(data_s.sum()),
        "data": [float(v) for v in data_s],
        "iterations": 1,
    }


def to_pytest_benchmark(
    run: Mapping[str, Any], metrics: pd.DataFrame, samples: Mapping[tuple[int, str], np.ndarray]
) -> dict[str, Any]:
    """A pytest-benchmark JSON document for one run (``metrics`` as Store.metrics_frame gives)."""
    benches = []
    noisy = metrics[(metrics["kind"] == "noisy") & metrics["unit"].isin(list(TIME_SCALE))]
    for rec in noisy.to_dict("records"):
        data = samples.get((int(rec["cell_id"]), rec["metric"]))
        if data is None or len(data) == 0:
            continue
        scale = TIME_SCALE[rec["unit"]]
        ident = {k: rec.get(k) for k in ("device", "device_fingerprint", "workload", "precision", "backend",
                                         "build_id", "artifact_sha256", "status", "metric", "unit", "method")}
        name = f"{rec['workload']}[{rec['precision']}-{rec['backend']}-{rec['device']}]"
        benches.append(
            {
                "group": rec["metric"],
                "name": name,
                "fullname": f"{name}::{rec['metric']}",
                "params": {"precision": rec["precision"], "backend": rec["backend"], "device": rec["device"]},
                "param": f"{rec['precision']}-{rec['backend']}-{rec['device']}",
                "extra_info": {"harness": {**ident, "scale": scale}},
                "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 1, "max_time": 0,
                            "min_time": 0, "warmup": False},
                "stats": _stats(np.asarray(data, dtype=float) * scale),
            }
        )
    return {
        "machine_info": {"node": run.get("host") or platform.node(), "machine": platform.machine(),
                         "python_implementation": platform.python_implementation(),
                         "python_version": platform.python_version(), "system": platform.system()},
        "commit_info": {"id": run.get("build_id"), "harness_run_id": run.get("run_id")},
        "benchmarks": benches,
        "datetime": run.get("created_at") or datetime.now(timezone.utc).isoformat(),
        "version": FORMAT_VERSION,
    }


def is_pytest_benchmark(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) and "machine_info" in doc


def read_pytest_benchmark(doc: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, cells) frames in the shape compare's Side expects."""
    machine = doc.get("machine_info") or {}
    foreign_fp = hashlib.sha256(json.dumps(machine, sort_keys=True, default=str).encode()).hexdigest()[:16]
    node = str(machine.get("node") or "unknown")
    rows = []
    for b in doc.get("benchmarks", []):
        stats = b.get("stats") or {}
        ident = (b.get("extra_info") or {}).get("harness")
        data = stats.get("data")
        if ident:
            scale = float(ident.get("scale") or 1.0)
            samples = None if data is None else np.asarray(data, dtype=float) / scale
            value = None if stats.get("median") is None else float(stats["median"]) / scale
            rows.append({**{k: ident.get(k) for k in ("device", "device_fingerprint", "workload", "precision",
                                                      "backend", "build_id", "artifact_sha256", "metric",
                                                      "unit", "method")},
                         "status": ident.get("status") or "ok", "kind": "noisy", "value": value,
                         "samples": samples})
        else:
            rows.append({"device": node, "device_fingerprint": foreign_fp, "workload": b.get("fullname") or b["name"],
                         "precision": "-", "backend": "-", "build_id": (doc.get("commit_info") or {}).get("id"),
                         "artifact_sha256": None, "metric": "time_s", "unit": "s", "method": "pytest-benchmark",
                         "status": "ok", "kind": "noisy", "value": stats.get("median"),
                         "samples": None if data is None else np.asarray(data, dtype=float)})
    metrics = pd.DataFrame(rows, columns=["device", "device_fingerprint", "workload", "precision", "backend",
                                          "build_id", "artifact_sha256", "metric", "unit", "method", "status",
                                          "kind", "value", "samples"])
    metrics["error"] = None
    cells = metrics[["workload", "precision", "backend", "device_fingerprint", "device", "status", "error"]]
    return metrics, cells.drop_duplicates().reset_index(drop=True)
