"""A penalised piecewise-constant fit of a short series (optimal partitioning, pure numpy).

It finds the segmentation minimising  sum of squared residuals around each segment's mean  +
``penalty`` x (number of segments - 1): the step detection asv does on benchmark histories, with a
squared-error cost. With penalty 2 σ² ln(n), a step enters the fit only when it explains more
variance than a BIC-like price, so noise alone rarely splits a series and one step is placed where
it explains the most.
"""

from __future__ import annotations

import math

import numpy as np


def bic_penalty(sigma: float, n: int) -> float:
    """2 σ² ln(n): the price of one more segment for noise of standard deviation σ over n points."""
    return 2.0 * max(sigma, 1e-12) ** 2 * math.log(max(n, 2))


def breakpoints(y: np.ndarray, penalty: float) -> list[int]:
    """Start positions (1..n-1) of every segment after the first in the optimal fit."""
    y = np.asarray(y, dtype=float)
    n = y.size
    if n < 2:
        return []
    c1 = np.concatenate([[0.0], np.cumsum(y)])
    c2 = np.concatenate([[0.0], np.cumsum(y * y)])
    best = np.zeros(n + 1)
    last = np.zeros(n + 1, dtype=int)
    best[0] = -penalty
    for end in range(1, n + 1):
        starts = np.arange(end)
        length = end - starts
        s1 = c1[end] - c1[starts]
        cost = (c2[end] - c2[starts]) - s1 * s1 / length  # squared residuals of y[start:end] around its mean
        total = best[starts] + cost + penalty
        j = int(np.argmin(total))
        best[end], last[end] = total[j], j
    out = []
    end = n
    while end > 0:
        start = int(last[end])
        if start > 0:
            out.append(start)
        end = start
    return sorted(out)
