"""Series over time per (workload, precision, backend, device fingerprint, metric), pure.

Input: a Store.metrics_frame (plus raw samples keyed by (cell_id, metric)). Output: one
Series per key, ordered by run time, with the per-run median, IQR and sample count, the series'
own run-to-run noise σ_run, and the change points found on the per-run medians. A night whose cell
carries a throttling flag (the frame's ``throttle`` column) is left out of detection unless the device
throttled night after night (``analysis.throttled_runs.history_set_aside``): a hot night neither opens
nor confirms a step.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.analysis.changepoints import ChangePoint, StepRule, detect_set_aside
from harness.analysis.noise import successive_sigma
from harness.analysis.thresholds import Thresholds
from harness.analysis.throttled_runs import history_set_aside

# The device's part of a series is its profile name with its fingerprint: two profiles of one machine (one
# fingerprint; say 2 threads and 1 thread) are two series, never one mixing both; the name is last so the
# first five fields keep their places.
SERIES_KEY = ("workload", "precision", "backend", "device_fingerprint", "metric", "device")
SeriesKey = tuple[str, str, str, str, str, str]


@dataclass
class Series:
    key: SeriesKey
    device: str
    unit: str | None
    higher_is_better: bool
    points: pd.DataFrame  # run_id, run_created_at, build_id, median, q1, q3, n, cell_id
    samples: list[np.ndarray | None] = field(default_factory=list)
    changes: list[ChangePoint] = field(default_factory=list)
    set_aside: list[int] = field(default_factory=list)  # positions of throttled nights left out of detection

    def throttled(self, start: int = 0) -> tuple[list[str], list[str]]:
        """From position ``start`` on: (runs set aside, flagged runs kept), each as "run (what the probe said)"."""
        if "throttle" not in self.points:
            return [], []
        aside: list[str] = []
        kept: list[str] = []
        for i, (run, note) in enumerate(zip(self.points["run_id"], self.points["throttle"], strict=True)):
            if i >= start and isinstance(note, str) and note:
                (aside if i in self.set_aside else kept).append(f"{run} ({note})")
        return aside, kept

    @property
    def sigma_run(self) -> float:
        """The series' robust run-to-run σ of log medians (NaN under 2 runs)."""
        m = self.points["median"].to_numpy(dtype=float)
        m = m[np.isfinite(m) & (m > 0)]
        return successive_sigma(np.log(m)) if m.size else math.nan

    @property
    def slug(self) -> str:
        return series_slug(self.key)

    @property
    def label(self) -> str:
        w, p, b, _, m, _ = self.key
        return f"{self.device} · {w} · {p} · {b} · {m}"


def series_slug(key: tuple[str, ...]) -> str:
    """A file-name-safe, stable id for a series key."""
    return hashlib.sha1("\x1f".join(map(str, key)).encode()).hexdigest()[:16]


def quartiles(
    raw: list[np.ndarray | None], fallback: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """q1, median, q3 and n per run; runs with the same sample count are done in one numpy call.
    A run without raw samples keeps its stored value as the median (no IQR)."""
    k = len(raw)
    q1, med, q3 = np.full(k, np.nan), fallback.astype(float).copy(), np.full(k, np.nan)
    n = np.array([0 if s is None else len(s) for s in raw])
    for size in set(n.tolist()) - {0}:
        idx = np.flatnonzero(n == size)
        block = np.percentile(np.stack([raw[i] for i in idx]), [25, 50, 75], axis=1)  # type: ignore[misc]
        q1[idx], med[idx], q3[idx] = block
    return q1, med, q3, n


def build_series(
    metrics: pd.DataFrame,
    samples: Mapping[tuple[int, str], np.ndarray] | None = None,
    *,
    thresholds: Thresholds | None = None,
    kinds: tuple[str, ...] = ("noisy",),
    detect_changes: bool = True,
    known: Mapping[tuple[str, ...], Collection[str]] | None = None,
) -> list[Series]:
    """``known``: series key -> run ids of steps already raised (open alerts), re-judged with the looser
    rule that keeps a step at the threshold from flickering."""
    thresholds = thresholds or Thresholds()
    samples = samples or {}
    f = metrics[metrics["kind"].isin(kinds) & metrics["status"].isin(["ok", "accuracy_fail"])].copy()
    if f.empty:
        return []
    f["device_fingerprint"] = f["device_fingerprint"].fillna("")
    f["device"] = f["device"].fillna("")
    f = f.sort_values(["run_created_at", "cell_id"])
    out: list[Series] = []
    for key, g in f.groupby(list(SERIES_KEY), sort=True):
        key = tuple(str(k) for k in key)  # type: ignore[assignment]
        raw = [samples.get((int(c), key[4])) for c in g["cell_id"]]
        q1, med, q3, n = quartiles(raw, g["value"].to_numpy(dtype=float))
        points = pd.DataFrame({"run_id": g["run_id"].to_numpy(), "run_created_at": g["run_created_at"].to_numpy(),
                               "build_id": g["build_id"].to_numpy(), "cell_id": g["cell_id"].to_numpy(),
                               "median": med, "q1": q1, "q3": q3, "n": n})
        if "throttle" in g:
            points["throttle"] = [x if isinstance(x, str) and x else None for x in g["throttle"]]
        th = thresholds.resolve(key[0], key[1], key[2], key[4])
        s = Series(key=key, device=key[5], unit=g["unit"].iloc[-1],  # type: ignore[arg-type]
                   higher_is_better=th.higher_is_better, points=points, samples=raw)
        if "throttle" in points:
            s.set_aside = history_set_aside([isinstance(x, str) and bool(x) for x in points["throttle"]])
        if detect_changes:
            runs = (known or {}).get(key, ())
            positions = [i for i, r in enumerate(points["run_id"]) if r in runs] if runs else []
            s.changes = detect_set_aside(points["median"].to_numpy(), s.set_aside, rule=StepRule(threshold=th.delta),
                                         higher_is_better=th.higher_is_better, known=positions)
        out.append(s)
    return out
