"""Turn an agent result (result.json) into metrics, samples and a status. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.analysis.autocorrelation import lag1_autocorrelation
from harness.analysis.summary import summarize
from harness.probes.memory import agent_peak_memory
from harness.records import MetricValue

SUMMARY_INFO = ("p90", "p99", "mean", "std", "min", "max", "cv", "n", "outliers")
# A metric's definition is its unit and this method: the timer and the statistic. Sample counts, warm-up
# counts and why sampling stopped vary from run to run and live in result_json["series"][name]
# (warmup_n, stopped_by) and the <series>.n metric. Stores written before read the same once
# compare drops those ("perf_counter, median of 361 (max_seconds), 2 warm-up").
SERIES_METHOD = "perf_counter, median"
LAG1 = "lag1"  # info metric <series>.lag1: lag-1 autocorrelation of the series' log samples


def series_metrics(series: Mapping[str, Mapping[str, Any]]) -> tuple[list[MetricValue], dict[str, np.ndarray]]:
    """Every raw series -> a noisy headline (median) + info summaries, and the raw samples."""
    metrics: list[MetricValue] = []
    samples: dict[str, np.ndarray] = {}
    for name, s in series.items():
        values = np.asarray(s.get("samples") or [], dtype=float)
        if values.size == 0:
            continue
        unit = s.get("unit", "ms")
        summ = summarize(values)
        metrics.append(MetricValue(name, summ["p50"], unit, "noisy", SERIES_METHOD))
        for field in SUMMARY_INFO:
            metrics.append(MetricValue(f"{name}.{field}", summ[field], "" if field in ("cv", "n", "outliers") else unit, "info"))
        lag1 = _lag1(values)
        if lag1 is not None:
            metrics.append(MetricValue(f"{name}.{LAG1}", lag1, "", "info", "lag-1 autocorrelation of log samples"))
        samples[name] = values
    return metrics, samples


def _lag1(values: np.ndarray) -> float | None:
    positive = values[np.isfinite(values) & (values > 0)]
    return lag1_autocorrelation(np.log(positive)) if positive.size == values.size else None


def agent_metrics(result: Mapping[str, Any]) -> list[MetricValue]:
    """Load time, first inference and peak memory, each with its method."""
    out: list[MetricValue] = []
    for role, ms in (result.get("load_ms") or {}).items():
        out.append(MetricValue("load_ms" if role == "model" else f"load_ms.{role}", ms, "ms", "info", "session creation"))
    for label, ms in (result.get("first_inference_ms") or {}).items():
        name = "first_inference_ms" if label in ("default", "") else f"first_inference_ms@{label}"
        out.append(MetricValue(name, ms, "ms", "info", "first run after load"))
    peak = agent_peak_memory(dict(result))
    if peak is not None:
        out.append(peak)
    return out


def timed_inferences(result: Mapping[str, Any]) -> int:
    return int(sum(len(s.get("samples") or []) for s in (result.get("series") or {}).values()))
