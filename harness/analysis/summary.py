"""Per-series summaries of raw samples (the numbers quoted in tables)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SUMMARY_FIELDS = ("p50", "p90", "p99", "mean", "std", "min", "max", "cv", "n", "outliers")


def mad_outliers(x: np.ndarray, k: float = 3.5) -> int:
    """Count of samples whose robust z-score (via MAD) exceeds k (Iglewicz & Hoaglin)."""
    if x.size < 3:
        return 0
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    if mad == 0:
        return int(np.count_nonzero(x != med))
    z = 0.6745 * (x - med) / mad
    return int(np.count_nonzero(np.abs(z) > k))


def summarize(samples: Sequence[float] | np.ndarray) -> dict[str, float]:
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        return {"n": 0}
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else 0.0
    p50, p90, p99 = (float(v) for v in np.percentile(x, [50, 90, 99]))
    return {
        "p50": p50,
        "p90": p90,
        "p99": p99,
        "mean": mean,
        "std": std,
        "min": float(x.min()),
        "max": float(x.max()),
        "cv": std / mean if mean else float("nan"),
        "n": int(x.size),
        "outliers": mad_outliers(x),
    }
