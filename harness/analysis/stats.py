"""The statistics behind `compare` and change points: scipy.stats underneath, fixed seeds.

- effect: ratio of medians B/A with a bootstrap confidence interval (scipy.stats.bootstrap,
  independent resampling of both sides, fixed seed so a re-run prints the same CI);
- test: two-sided Mann-Whitney U on the raw samples (scipy.stats.mannwhitneyu);
- multiplicity: Holm's step-down correction across all rows judged at once;
- a median's own CI: exact order statistics (scipy.stats.quantile_test) at large n, a
  fixed-seed bootstrap at small n.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

DEFAULT_SEED = 20240607
DEFAULT_RESAMPLES = 2000
ORDER_STATISTICS_MIN_N = 20  # below this the order-statistic interval is too coarse: bootstrap


@dataclass(frozen=True)
class RatioCI:
    ratio: float
    low: float
    high: float


def _median_ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(b, axis=axis) / np.median(a, axis=axis)


def median_ratio_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> RatioCI:
    """Ratio of medians B/A with a percentile-bootstrap CI (fixed seed: reproducible)."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        raise ValueError("median_ratio_ci needs samples on both sides")
    ratio = float(np.median(y) / np.median(x))
    if x.size < 2 or y.size < 2:
        return RatioCI(ratio, float("nan"), float("nan"))
    # Keep each resample batch around 4M values so a 100k-sample series does not eat RAM.
    batch = max(1, min(n_resamples, 4_000_000 // max(x.size, y.size)))
    res = stats.bootstrap(
        (x, y),
        _median_ratio,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        n_resamples=n_resamples,
        batch=batch,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    return RatioCI(ratio, float(res.confidence_interval.low), float(res.confidence_interval.high))


def mann_whitney_p(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Two-sided Mann-Whitney U p-value; 1.0 when both sides are constant and equal."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.size == 0 or y.size == 0:
        return float("nan")
    if np.ptp(np.concatenate([x, y])) == 0:
        return 1.0
    return float(stats.mannwhitneyu(x, y, alternative="two-sided").pvalue)


def holm(pvalues: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm step-down adjusted p-values (NaN stays NaN and does not count as a test).

    adj_(i) = max_{j<=i} min(1, (m - j + 1) p_(j)) over the ascending order p_(1) <= ... <= p_(m).
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out
    idx = np.flatnonzero(ok)
    order = np.argsort(p[idx], kind="mergesort")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[idx][order])
    out[idx[order]] = np.maximum.accumulate(scaled)
    return out


def robust_sigma(x: Sequence[float] | np.ndarray) -> float:
    """1.4826 x MAD: the standard deviation a normal sample with this MAD would have."""
    v = np.asarray(x, dtype=float)
    if v.size == 0:
        return float("nan")
    return float(stats.median_abs_deviation(v, scale="normal"))


def median_ci(samples: Sequence[float] | np.ndarray, *, confidence: float = 0.95,
              seed: int = DEFAULT_SEED) -> tuple[float, float] | None:
    """CI of the median of one series; None below 2 finite samples.

    Order statistics (distribution-free, exact binomial coverage) from ORDER_STATISTICS_MIN_N
    samples on: cheap at 50 k samples, where a bootstrap costs seconds per row. Below that,
    a percentile bootstrap with a fixed seed (the same table prints the same interval)."""
    x = np.asarray(samples, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return None
    if np.ptp(x) == 0:
        return float(x[0]), float(x[0])
    if x.size >= ORDER_STATISTICS_MIN_N:
        # [x_(l), x_(n-l+1)] with l the binomial(n, 1/2) quantile at alpha/2: what
        # scipy.stats.quantile_test's interval is, without building a distribution object per row
        xs = np.sort(x)
        low = int(stats.binom.ppf((1 - confidence) / 2, xs.size, 0.5))
        return float(xs[low - 1]), float(xs[xs.size - low])
    res = stats.bootstrap((x,), np.median, vectorized=True, confidence_level=confidence,
                          n_resamples=DEFAULT_RESAMPLES, method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
