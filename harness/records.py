"""Plain records shared by the steps: the session measures them, ``results`` keeps them, ``analysis``
judges them. This module imports no harness package, so ``results`` and ``analysis`` both use it without
using each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

# A cell is one device x workload x precision x backend; a row of a comparison or a series adds the metric.
CELL_KEY = ("workload", "precision", "backend", "device_fingerprint")
ROW_KEY = (*CELL_KEY, "metric")
MEASURED = ("ok", "accuracy_fail")  # statuses whose metrics are real measurements


@dataclass(frozen=True)
class MetricValue:
    name: str
    value: float | None
    unit: str
    kind: str = "noisy"  # noisy (has samples) / deterministic (tolerance) / info (never judged)
    method: str | None = None


@dataclass
class CellRecord:
    cell_key: str
    device: str
    workload: str
    precision: str
    backend: str
    status: str
    error: str | None = None
    transport: str | None = None
    device_fingerprint: str | None = None
    fingerprint: dict[str, Any] = field(default_factory=dict)
    build_id: str | None = None
    artifact_sha256: str | None = None
    ort_version: str | None = None
    ep_requested: str | None = None
    ep_used: str | None = None
    ep_fallback: bool | None = None
    started_at: str | None = None
    finished_at: str | None = None
    wall_s: float | None = None
    measure_s: float | None = None
    attempts: int = 1
    result: dict[str, Any] = field(default_factory=dict)
    metrics: list[MetricValue] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)


# ---------------------------------------------------------------------------- comparison sides
# One row per (run, cell, metric) of a side; ``samples`` holds the raw series (ndarray or None), ``stats``
# the summary a file gave instead of raw samples ({"median", "q1", "q3", "n"} or None).
SIDE_COLUMNS = [
    "run_id", "round", "device", "device_fingerprint", "workload", "precision", "backend", "build_id",
    "artifact_sha256", "metric", "unit", "method", "status", "error", "kind", "value", "samples", "stats",
    "config", "flags", "contention_cores",
]
CELL_COLUMNS = ["run_id", *CELL_KEY, "device", "status", "error"]


@dataclass
class Side:
    """One side of a comparison: every run given for it (a run id, all runs of a build, result files).

    ``metrics``: SIDE_COLUMNS, one row per (run, cell, metric). ``cells``: CELL_COLUMNS, one row per
    (run, cell), failed cells included (they have no metrics). ``runs``: the run ids, in order.
    """

    label: str
    metrics: pd.DataFrame
    cells: pd.DataFrame
    runs: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- regression alerts
@dataclass(frozen=True)
class Alert:
    workload: str
    precision: str
    backend: str
    device_fingerprint: str
    metric: str
    device: str
    run_id: str  # first run at the new level
    prev_run_id: str  # last run before it
    build_id: str | None
    prev_build_id: str | None
    at: str  # created_at of run_id
    before: float
    after: float
    ratio: float
    p: float
    state: str = "suspected"
    note: str = ""
    by_user: bool = False

    @property
    def key(self) -> tuple[str, ...]:
        return (self.workload, self.precision, self.backend, self.device_fingerprint, self.metric, self.run_id)

    @property
    def series_key(self) -> tuple[str, str, str, str, str]:
        return (self.workload, self.precision, self.backend, self.device_fingerprint, self.metric)


# ---------------------------------------------------------------------------- calibration
@dataclass(frozen=True)
class CalibratedNoise:
    """Run-to-run noise of one series on one device, from A/A runs (``harness calibrate``).

    ``sigma``: σ_run, the standard deviation of log run medians that is not within-run error (≈ a
    fraction: 0.03 is 3 %), with its 95 % interval ``low``..``high`` and ``df`` degrees of freedom.
    ``within``: the typical within-run standard error of one run's log median.
    """

    device_fingerprint: str
    workload: str
    precision: str
    backend: str
    metric: str
    device: str
    sigma: float
    low: float
    high: float
    df: float
    n_runs: int
    within: float
    run_ids: tuple[str, ...] = ()
    created_at: str = ""

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.workload, self.precision, self.backend, self.device_fingerprint, self.metric)


# ---------------------------------------------------------------------------- cell flags
def flag_codes(flags: Iterable[Any] | None) -> tuple[str, ...]:
    """The codes of a cell's ``result_json["flags"]``: objects ``{"code", "message", ...}``; old stores
    hold plain strings, read as their own code."""
    out = []
    for f in flags or ():
        if isinstance(f, Mapping):
            out.append(str(f.get("code") or ""))
        elif isinstance(f, str):
            out.append(f)
    return tuple(c for c in out if c)


def flag_text(flag: Any) -> str:
    """What a person reads for one flag (its message; an old plain-string flag is its own text)."""
    if isinstance(flag, Mapping):
        return str(flag.get("message") or flag.get("code") or "")
    return str(flag)
