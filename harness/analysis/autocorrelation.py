"""Lag-1 autocorrelation of a run's samples, and when it says the run drifted (pure).

Samples that repeat each other (a device heating up, a governor ramping) hold less information than
their count says: ``within_run`` then reads a run's error from block medians, and the cell carries
the ``autocorrelated`` flag (``flags``). Both use ``is_autocorrelated`` so they always agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

LAG1_LIMIT = 0.2  # above this, and beyond chance for n samples, samples are treated as autocorrelated


def lag1_autocorrelation(x: Sequence[float] | np.ndarray) -> float | None:
    """Lag-1 sample autocorrelation (None when under 3 values or constant)."""
    v = np.asarray(x, dtype=float)
    if v.size < 3:
        return None
    d = v - v.mean()
    denom = float(np.square(d).sum())  # elementwise, not BLAS dot: a BLAS pool spinning up costs more than this
    if denom <= 0 or not math.isfinite(denom):
        return None
    return float((d[:-1] * d[1:]).sum() / denom)


# scipy.stats.norm.ppf(0.975) written out: every run judges its cells' drift, and loading scipy.stats for
# this one number cost each `harness run` ~1.6 s CPU (tests/analysis/test_flags.py checks the digits)
Z975 = 1.959963984540054


def is_autocorrelated(lag1: float | None, n: int) -> bool:
    """Lag-1 autocorrelation above LAG1_LIMIT and above the 97.5 % point of its spread for n independent
    samples (1.96 / sqrt(n)): at n = 10 a lag-1 of 0.3 is chance, at n = 200 it is a drifting device."""
    return lag1 is not None and n > 0 and lag1 > max(LAG1_LIMIT, Z975 / math.sqrt(n))
