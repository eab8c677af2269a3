"""Read the history the analysis needs from the store, and keep alerts in sync with it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fnmatch import fnmatchcase

import pandas as pd

from harness.analysis import alerts as A
from harness.analysis.history import Series, build_series
from harness.analysis.thresholds import Thresholds
from harness.results import analysis_tables as T
from harness.results.store import Store

HISTORY_RUN_KINDS = ("run", "nightly")  # ab and calibrate runs are experiments, not history


def load_series(
    store: Store,
    *,
    workload: str = "*",
    device: str = "*",
    metric: str = "*",
    precision: str = "*",
    backend: str = "*",
    thresholds: Thresholds | None = None,
    run_kinds: Sequence[str] = HISTORY_RUN_KINDS,
) -> list[Series]:
    """Every noisy series matching the globs, with change points detected."""
    runs = [r["run_id"] for r in store.list_runs() if r.get("kind", "run") in run_kinds]
    if not runs:
        return []
    metrics = store.metrics_frame(runs)
    metrics = _filter(metrics, workload=workload, device=device, metric=metric, precision=precision, backend=backend)
    noisy = metrics[metrics["kind"] == "noisy"]
    samples = store.samples_for(noisy["cell_id"].unique().tolist())
    return build_series(noisy, samples, thresholds=thresholds)


def _filter(frame: pd.DataFrame, **globs: str) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for col, pattern in globs.items():
        if pattern != "*":
            mask &= frame[col].astype(str).map(lambda v, p=pattern: fnmatchcase(v, p))
    return frame[mask]


def device_canaries() -> dict[str, str]:
    """device name -> canary workload, from ``labels: {canary: NAME}`` in devices/*.yaml (best effort:
    no devices folder, or invalid YAML that `harness validate` reports, means no canaries)."""
    out: dict[str, str] = {}
    try:
        from harness.config.loader import load_devices

        for name, (profile, _path) in load_devices().items():
            label = profile.labels.get("canary")
            if label:
                out[name] = label
    except Exception:
        return {}
    return out


def sync_alerts(
    store: Store, series: Sequence[Series], *, canaries: Mapping[str, str] | None = None
) -> list[A.Alert]:
    """Detect alerts on ``series``, fold them into the stored ones, save and return them all.

    ``canaries=None`` takes them from the device profiles, so every caller (alerts, publish, a
    farm night) judges the same way and detection never flip-flops between callers."""
    detected = A.detect_alerts(series, canaries=device_canaries() if canaries is None else canaries)
    keys = {s.key for s in series}
    stored = T.load_alerts(store)
    in_scope = [a for a in stored if a.series_key in keys]
    merged = A.merge(in_scope, detected)
    T.save_alerts(store, merged)
    return T.load_alerts(store)
