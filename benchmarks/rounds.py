"""What a benchmark's interleaved rounds resolve: the median over rounds and its interval."""

from __future__ import annotations

import numpy as np


def median_ci95(values: list[float], seed: int = 0) -> list[float]:
    """95 % bootstrap interval of the median over rounds: how finely these rounds resolve the ratio."""
    rng = np.random.default_rng(seed)
    v = np.asarray(values)
    meds = np.median(rng.choice(v, size=(2000, len(v)), replace=True), axis=1)
    return [float(np.percentile(meds, 2.5)), float(np.percentile(meds, 97.5))]
