"""Series over time per (workload, precision, backend, device fingerprint, metric), pure.

Input: a Store.metrics_frame (plus raw samples keyed by (cell_id, metric)). Output: one
Series per key, ordered by run time, with the per-run median, IQR and sample count, and the
change points found on the per-run medians.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.analysis.changepoints import ChangePoint, StepRule, detect
from harness.analysis.thresholds import Thresholds

SERIES_KEY = ("workload", "precision", "backend", "device_fingerprint", "metric")


@dataclass
class Series:
    key: tuple[str, str, str, str, str]
    device: str
    unit: str | None
    higher_is_better: bool
    points: pd.DataFrame  # run_id, run_created_at, build_id, median, q1, q3, n, cell_id
    samples: list[np.ndarray | None] = field(default_factory=list)
    changes: list[ChangePoint] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return series_slug(self.key)

    @property
    def label(self) -> str:
        w, p, b, _, m = self.key
        return f"{self.device} · {w} · {p} · {b} · {m}"


def series_slug(key: tuple[str, ...]) -> str:
    """A file-name-safe, stable id for a series key."""
    return hashlib.sha1("\x1f".join(map(str, key)).encode()).hexdigest()[:16]


def build_series(
    metrics: pd.DataFrame,
    samples: Mapping[tuple[int, str], np.ndarray] | None = None,
    *,
    thresholds: Thresholds | None = None,
    kinds: tuple[str, ...] = ("noisy",),
    detect_changes: bool = True,
) -> list[Series]:
    thresholds = thresholds or Thresholds()
    samples = samples or {}
    f = metrics[metrics["kind"].isin(kinds) & metrics["status"].isin(["ok", "accuracy_fail"])].copy()
    if f.empty:
        return []
    f["device_fingerprint"] = f["device_fingerprint"].fillna("")
    f = f.sort_values(["run_created_at", "cell_id"])
    out: list[Series] = []
    for key, g in f.groupby(list(SERIES_KEY), sort=True):
        key = tuple(str(k) for k in key)  # type: ignore[assignment]
        raw = [samples.get((int(c), key[4])) for c in g["cell_id"]]
        med, q1, q3, n = [], [], [], []
        for value, s in zip(g["value"], raw, strict=True):
            if s is not None and len(s):
                a, b, c = np.percentile(s, [25, 50, 75])
                q1.append(a), med.append(b), q3.append(c), n.append(len(s))
            else:
                q1.append(np.nan), med.append(value), q3.append(np.nan), n.append(0)
        points = pd.DataFrame({"run_id": g["run_id"].to_numpy(), "run_created_at": g["run_created_at"].to_numpy(),
                               "build_id": g["build_id"].to_numpy(), "cell_id": g["cell_id"].to_numpy(),
                               "median": np.asarray(med, dtype=float), "q1": q1, "q3": q3, "n": n})
        th = thresholds.resolve(key[0], key[1], key[2], key[4])
        s = Series(key=key, device=str(g["device"].iloc[-1]), unit=g["unit"].iloc[-1],  # type: ignore[arg-type]
                   higher_is_better=th.higher_is_better, points=points, samples=raw)
        if detect_changes:
            rule = StepRule(threshold=th.delta, alpha=th.alpha)
            s.changes = detect(points["median"].to_numpy(), raw, rule=rule, higher_is_better=th.higher_is_better)
        out.append(s)
    return out
