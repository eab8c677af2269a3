"""σ_run known before looking at a comparison's runs, and how noisy each device is (read side).

- ``calibrated``: the device's A/A calibration (`harness calibrate`) per series;
- ``history``: the baseline series' own robust σ_run, from history runs that are not part of the
  comparison;
- ``device_noise``: per device fingerprint, the median calibrated σ_run of its series, in %
  (farm health and the devices page show it).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from statistics import median

import numpy as np

from harness.analysis import noise as N
from harness.analysis.compare import Priors, RowKey
from harness.records import MEASURED, CalibratedNoise
from harness.results.analysis_tables import load_run_noise
from harness.results.history_source import history_run_ids
from harness.results.store import Store


def as_prior(c: CalibratedNoise) -> N.RunNoise:
    lo, hi = N.as_percent(c.low), N.as_percent(c.high)
    return N.RunNoise(sigma=c.sigma, df=c.df, source="calibrated", runs=c.n_runs, date=(c.created_at or "")[:10],
                      detail=f"{c.n_runs} A/A runs ({(c.created_at or '')[:10]}), 95 % interval "
                             f"{lo:.1f}–{hi:.1f} %")


def calibrated(store: Store) -> dict[RowKey, N.RunNoise]:
    return {c.key: as_prior(c) for c in load_run_noise(store)}


def history(store: Store, keys: Collection[RowKey], exclude_runs: Collection[str]) -> dict[RowKey, N.RunNoise]:
    """σ_run of each row's baseline series from the history runs (those being compared left out).

    Newest runs first, HISTORY_WINDOW at a time, until every series has its window: a long history is
    not read for every comparison (a site compares every device, and every run page its devices)."""
    if not keys:
        return {}
    wanted = set(keys)
    runs = [r for r in history_run_ids(store) if r not in set(exclude_runs)]  # newest first
    points: dict[RowKey, list[tuple[str, int, float]]] = {k: [] for k in wanted}
    for start in range(0, len(runs), N.HISTORY_WINDOW):
        frame = store.metrics_frame(runs[start : start + N.HISTORY_WINDOW])
        frame = frame[(frame["kind"] == "noisy") & frame["status"].isin(list(MEASURED))]
        for rec in frame.itertuples(index=False):
            key = (str(rec.workload), str(rec.precision), str(rec.backend), str(rec.device_fingerprint or ""),
                   str(rec.metric))
            if key in points:
                points[key].append((str(rec.run_created_at), int(rec.cell_id), float(rec.value)))
        if all(len(v) >= N.HISTORY_WINDOW for v in points.values()):
            break
    out: dict[RowKey, N.RunNoise] = {}
    for key, pts in points.items():
        v = np.array([value for _, _, value in sorted(pts)], dtype=float)
        v = v[np.isfinite(v) & (v > 0)]
        noise = N.history_noise(np.log(v)) if v.size else None
        if noise is not None:
            out[key] = noise
    return out


def priors(store: Store | None, keys: Iterable[RowKey], exclude_runs: Collection[str], *,
           use_calibration: bool = True, use_history: bool = True) -> Priors:
    if store is None:
        return Priors()
    keys = set(keys)
    cal = {k: v for k, v in calibrated(store).items() if k in keys} if use_calibration else {}
    hist = history(store, keys - set(cal), exclude_runs) if use_history else {}
    return Priors(calibrated=cal, history=hist)


def device_noise(store: Store, items: Iterable[CalibratedNoise] | None = None) -> dict[str, float]:
    """Per device fingerprint: the median calibrated σ_run over its series, in %."""
    per: dict[str, list[float]] = {}
    for c in load_run_noise(store) if items is None else items:
        pct = N.as_percent(c.sigma)
        if pct is not None and math.isfinite(pct):
            per.setdefault(c.device_fingerprint, []).append(pct)
    return {fp: float(median(v)) for fp, v in per.items()}


def calibrations_by_device(store: Store) -> Mapping[str, list[CalibratedNoise]]:
    out: dict[str, list[CalibratedNoise]] = {}
    for c in load_run_noise(store):
        out.setdefault(c.device_fingerprint, []).append(c)
    return out
