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
# CPU seconds other processes used per wall second of a cell's steady windows (probes.contention measures it)
CONTENTION_METRIC = "host_contention_cores"
CPU_COUNT_METRIC = "host_cpu_count"  # cores of the device: bounds how much contention can slow a cell


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
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # kept for cross-device agreement
    inputs_sha256: str | None = None  # the inputs the outputs came from


# ---------------------------------------------------------------------------- comparison sides
# One row per (run, cell, metric) of a side; ``samples`` holds the raw series (ndarray or None), ``stats``
# the summary a file gave instead of raw samples ({"median", "q1", "q3", "n"} or None).
SIDE_COLUMNS = [
    "run_id", "cell_id", "round", "device", "device_fingerprint", "workload", "precision", "backend", "build_id",
    "artifact_sha256", "metric", "unit", "method", "status", "error", "kind", "value", "samples", "stats",
    "config", "flags", "contention_cores", "cpu_count", "throttle",
]
CELL_COLUMNS = ["run_id", "cell_id", *CELL_KEY, "device", "status", "error"]  # cell_id: the store's (None: a file)


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
        return (*self.series_key, self.run_id)

    @property
    def series_key(self) -> tuple[str, str, str, str, str, str]:
        """The series it was raised on (harness.analysis.history.SERIES_KEY): profile name last."""
        return (self.workload, self.precision, self.backend, self.device_fingerprint, self.metric, self.device)


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
# A flag is stored in the cell's result_json["flags"] as {"code": str, "message": str, ...extra}; stores
# written before flags were objects hold plain strings ("EP fallback: ...", "throttled: ..."), which
# parse_flags reads too. Which flags a cell gets is decided in analysis.flags.
SLOWER_THAN_FP32 = "slower_than_fp32"
EP_FALLBACK = "ep_fallback"
VARIANT_UNCHANGED = "variant_unchanged"
BUDGET_MISSED = "budget_missed"
CONTENTION = "contention"
AUTOCORRELATED = "autocorrelated"
THROTTLED = "throttled"
PROBE = "probe"  # a probe that could not say what it was asked (power, memory sources)
NOTE = "note"  # an old plain-string flag of no known kind


_LEGACY_PREFIXES = (("EP fallback", EP_FALLBACK), ("throttled", THROTTLED), ("power", PROBE), ("memory", PROBE))


@dataclass(frozen=True)
class Flag:
    code: str
    message: str
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {**self.extra, "code": self.code, "message": self.message}

    @property
    def label(self) -> str:
        """A few words for a table cell; the message says the rest."""
        x = self.extra
        if self.code == SLOWER_THAN_FP32 and "ratio" in x:
            return f"{x['ratio']:.2g}× slower than fp32"
        if self.code == EP_FALLBACK and x.get("used"):
            return f"EP fallback to {x['used']}"
        if self.code == VARIANT_UNCHANGED:
            return "quantizer changed nothing"
        if self.code == BUDGET_MISSED:
            return "budget missed"
        if self.code == CONTENTION and "cores" in x:
            return f"contention {x['cores']:.2f} cores"
        if self.code == AUTOCORRELATED and "lag1" in x:
            return f"drifting (lag-1 r {x['lag1']:.2f})"
        return self.message


def parse_flag(raw: Any) -> Flag:
    """One stored flag: an object, or a plain string from a store written before flags had codes."""
    if isinstance(raw, Mapping):
        extra = {k: v for k, v in raw.items() if k not in ("code", "message")}
        return Flag(str(raw.get("code") or NOTE), str(raw.get("message") or raw.get("code") or ""), extra)
    text = str(raw)
    for prefix, code in _LEGACY_PREFIXES:
        if text.startswith(prefix):
            return Flag(code, text)
    return Flag(NOTE, text)


def parse_flags(raw: Iterable[Any] | None) -> list[Flag]:
    return [parse_flag(r) for r in (raw or [])]


def flags_json(flags: Iterable[Flag]) -> list[dict[str, Any]]:
    return [f.to_json() for f in flags]


def labels(flags: Iterable[Flag]) -> str:
    return "; ".join(f.label for f in flags)


def codes(flags: Iterable[Flag]) -> str:
    return ",".join(f.code for f in flags)


def throttle_note(flags: Iterable[Any] | None) -> str | None:
    """What the throttling probe said about a cell (its first ``throttled`` flag's message), or None."""
    return next((f.message for f in parse_flags(flags) if f.code == THROTTLED), None)


def flag_codes(flags: Iterable[Any] | None) -> tuple[str, ...]:
    """The codes of a cell's stored flags (objects or old plain strings)."""
    return tuple(f.code for f in parse_flags(flags))
