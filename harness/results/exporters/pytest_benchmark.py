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
import math
import platform
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.results.identity import config_identity
from harness.results.untrusted import need as _need
from harness.results.untrusted import number as _number
from harness.results.untrusted import sample_array

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
    run: Mapping[str, Any], metrics: pd.DataFrame, samples: Mapping[tuple[int, str], np.ndarray],
    cells: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """A pytest-benchmark JSON document for one run (``metrics`` as Store.metrics_frame gives; ``cells``
    as Store.cells_frame gives adds each cell's configuration, flags and contention for compare)."""
    benches = []
    conditions = _conditions(metrics, cells)
    noisy = metrics[(metrics["kind"] == "noisy") & metrics["unit"].isin(list(TIME_SCALE))]
    for rec in noisy.to_dict("records"):
        data = samples.get((int(rec["cell_id"]), rec["metric"]))
        if data is None or len(data) == 0:
            continue
        scale = TIME_SCALE[rec["unit"]]
        ident = {k: rec.get(k) for k in ("device", "device_fingerprint", "workload", "precision", "backend",
                                         "build_id", "artifact_sha256", "status", "metric", "unit", "method")}
        ident.update(conditions.get(int(rec["cell_id"]), {}))
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


def _conditions(metrics: pd.DataFrame, cells: pd.DataFrame | None) -> dict[int, dict[str, Any]]:
    """cell id -> {config, flags, contention_cores}: what compare checks beside the samples."""
    from harness.records import CONTENTION_METRIC, flag_codes

    if cells is None or cells.empty:
        return {}
    load = metrics[metrics["metric"] == CONTENTION_METRIC].set_index("cell_id")["value"].to_dict()
    out: dict[int, dict[str, Any]] = {}
    for c in cells.to_dict("records"):
        try:
            result = json.loads(c.get("result_json") or "{}")
        except ValueError:
            result = {}
        result = result if isinstance(result, dict) else {}
        cid = int(c["id"])
        cores = load.get(cid)
        out[cid] = {"config": config_identity(result, c.get("ep_requested")), "flags": list(flag_codes(result.get("flags"))),
                    "contention_cores": None if cores is None or not math.isfinite(cores) else float(cores)}
    return out


def is_pytest_benchmark(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list) and "machine_info" in doc


ROW_COLUMNS = ["device", "device_fingerprint", "workload", "precision", "backend", "build_id", "artifact_sha256",
               "metric", "unit", "method", "status", "error", "kind", "value", "samples", "stats", "config", "flags",
               "round", "contention_cores"]


def read_pytest_benchmark(doc: Mapping[str, Any], where: str = "pytest-benchmark file") -> tuple[pd.DataFrame,
                                                                                                  pd.DataFrame]:
    """(metrics, cells) frames in the shape a comparison side holds (one run).

    Malformed content is a HarnessError naming ``where`` and the place (``benchmarks[2].stats.data[7]``)."""
    machine = doc.get("machine_info")
    foreign_fp = hashlib.sha256(json.dumps(machine, sort_keys=True, default=str).encode()).hexdigest()[:16]
    node = str((machine if isinstance(machine, dict) else {}).get("node") or "unknown")
    commit_info = doc.get("commit_info")
    commit: dict[str, Any] = commit_info if isinstance(commit_info, dict) else {}
    rows = []
    for i, b in enumerate(doc["benchmarks"]):
        at = f"{where}: benchmarks[{i}]"
        _need(b, dict, at, "an object")
        stats = b.get("stats")
        _need(stats, dict, f"{at}.stats", "an object")
        extra = b.get("extra_info") if isinstance(b.get("extra_info"), dict) else {}
        ident = extra.get("harness")
        data = stats.get("data")
        if ident is not None:
            _need(ident, dict, f"{at}.extra_info.harness", "an object")
            scale = _number(ident.get("scale", 1.0), f"{at}.extra_info.harness.scale")
            if not scale or not math.isfinite(scale) or scale <= 0:
                raise HarnessError(f"{at}.extra_info.harness.scale: expected a positive number, got {scale}")
            names = {k: ident.get(k) for k in ("device", "device_fingerprint", "workload", "precision", "backend",
                                                "build_id", "artifact_sha256", "metric", "unit", "method", "config")}
            for k, v in names.items():
                if v is not None and not isinstance(v, str):
                    raise HarnessError(f"{at}.extra_info.harness.{k}: expected a string, got {type(v).__name__}")
            for k in ("device", "workload", "precision", "backend", "metric"):
                if not names[k]:
                    raise HarnessError(f"{at}.extra_info.harness.{k}: missing")
            flags = ident.get("flags") if isinstance(ident.get("flags"), list) else []
            row = {**names, "status": str(ident.get("status") or "ok"), "flags": tuple(str(f) for f in flags),
                   "contention_cores": _number(ident.get("contention_cores"), f"{at}.extra_info.harness.contention_cores")}
        else:
            scale = 1.0
            name = b.get("fullname") or b.get("name")
            if not isinstance(name, str) or not name:
                raise HarnessError(f"{at}.name: expected the benchmark's name, got {type(name).__name__}")
            row = {"device": node, "device_fingerprint": foreign_fp, "workload": name, "precision": "-", "backend": "-",
                   "build_id": commit.get("id") if isinstance(commit.get("id"), str) else None, "artifact_sha256": None,
                   "metric": "time_s", "unit": "s", "method": "pytest-benchmark", "status": "ok", "config": None,
                   "flags": (), "contention_cores": None}
        samples = None if data is None else sample_array(data, f"{at}.stats.data") / scale
        summary = {k: _number(stats.get(k), f"{at}.stats.{k}") for k in ("median", "q1", "q3", "rounds")}
        median = summary["median"]
        rows.append({**row, "kind": "noisy", "error": None, "round": None,
                     "value": None if median is None else median / scale, "samples": samples,
                     "stats": {"median": None if median is None else median / scale,
                               "q1": None if summary["q1"] is None else summary["q1"] / scale,
                               "q3": None if summary["q3"] is None else summary["q3"] / scale,
                               "n": summary["rounds"]}})
    metrics = pd.DataFrame(rows, columns=ROW_COLUMNS)
    cells = metrics[["workload", "precision", "backend", "device_fingerprint", "device", "status", "error"]]
    return metrics, cells.drop_duplicates().reset_index(drop=True)
