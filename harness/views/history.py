"""The history as pages and commands show it: series with change points, and alerts kept in sync.

``load_series`` re-judges the steps already raised (open or decided alerts) with the looser keep rule,
so a step at the threshold neither flickers nor reappears one run later. ``sync_alerts`` is the one
writer: `harness history`, `harness alerts` and a farm night call it; `harness publish` only reads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from harness.analysis import alerts as A
from harness.analysis.history import Series, build_series
from harness.analysis.thresholds import Thresholds
from harness.records import Alert
from harness.results import analysis_tables as T
from harness.results.history_source import HISTORY_RUN_KINDS, device_canaries, history_frames
from harness.results.store import Store


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
    frame, samples = history_frames(store, workload=workload, device=device, metric=metric, precision=precision,
                                    backend=backend, run_kinds=run_kinds)
    if frame.empty:
        return []
    return build_series(frame, samples, thresholds=thresholds, known=A.open_steps(T.load_alerts(store)))


def stored_alerts(store: Store) -> list[Alert]:
    return T.load_alerts(store)


def alert_ids(store: Store) -> dict[tuple[str, ...], int]:
    return T.alert_ids(store)


def sync_alerts(store: Store, series: Sequence[Series], *, canaries: Mapping[str, str] | None = None) -> list[Alert]:
    """Detect alerts on ``series``, fold them into the stored ones, save and return them all.

    ``canaries=None`` takes them from the device profiles, so every caller judges the same way and
    detection never flip-flops between callers. A person's decision is never overwritten."""
    detected = A.detect_alerts(series, canaries=device_canaries() if canaries is None else canaries)
    keys = {s.key for s in series}
    stored = T.load_alerts(store)
    in_scope = [a for a in stored if a.series_key in keys]
    T.save_alerts(store, A.merge(in_scope, detected))
    return T.load_alerts(store)
