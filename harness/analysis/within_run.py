"""One run's median and how well the run pins it down (pure).

The run is the unit of evidence: a verdict works on log run medians. What a run adds on top of the
run-to-run noise is the standard error of its own log median, estimated here:

- independent samples: from the distribution-free order-statistic interval for the median (ranks from
  the binomial distribution, scipy.stats.binom): O(n) with ``np.partition``, exact coverage at any n, so
  50 k samples cost microseconds where a bootstrap cost seconds;
- autocorrelated samples (lag-1 autocorrelation above ``LAG1_LIMIT`` and beyond what chance gives n
  independent samples, 1.96 / sqrt(n): a device heating up, a governor ramping): successive samples
  repeat each other, so the interval above is too narrow. The error is then
  the larger of the spread of ``BLOCKS`` consecutive block medians and the independent error inflated to
  the effective sample size n (1 - r) / (1 + r);
- a file that carries quartiles and a count but no raw samples (a pytest-benchmark file saved without
  ``--benchmark-save-data``): the large-sample error of a median, 1.2533 σ / sqrt(n), with σ = IQR / 1.349.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from harness.analysis.autocorrelation import LAG1_LIMIT, is_autocorrelated, lag1_autocorrelation
from harness.analysis.stats import CONFIDENCE

__all__ = ["LAG1_LIMIT", "BLOCKS", "MIN_SAMPLES", "RunEstimate", "estimate_run", "estimate_from_quartiles",
           "sample_problem", "is_autocorrelated", "lag1_autocorrelation"]

BLOCKS = 10  # consecutive blocks whose medians measure an autocorrelated run's error
MIN_SAMPLES = 3  # fewer samples cannot say anything about a run's median
_CI_ALPHA = 1.0 - CONFIDENCE  # the order-statistic interval the error is read from


@dataclass(frozen=True)
class RunEstimate:
    log_median: float
    se: float  # standard error of log_median from inside the run
    n: int
    lag1: float | None  # lag-1 autocorrelation of the log samples (None: too few, or no raw samples)
    method: str  # "order statistics", "block medians" or "quartiles"

    @property
    def autocorrelated(self) -> bool:
        return is_autocorrelated(self.lag1, self.n)


def sample_problem(samples: np.ndarray) -> str | None:
    """Why these raw samples cannot give a run median on a log scale (None: they can)."""
    if samples.ndim != 1:
        return f"samples are {samples.ndim}-dimensional"
    if samples.size < MIN_SAMPLES:
        return f"{samples.size} sample(s), fewer than {MIN_SAMPLES}"
    bad = int(np.count_nonzero(~np.isfinite(samples)))
    if bad:
        return f"{bad} of {samples.size} samples are NaN or infinite"
    if float(samples.min()) <= 0:
        return "a sample is zero or negative"
    return None


@lru_cache(maxsize=4096)
def _ranks(n: int) -> tuple[int, int, float]:
    """0-based positions (lo, hi) of the order statistics bounding the median at >= 95 %, and the
    normal quantile matching the interval's exact coverage."""
    from scipy import stats
    j = max(1, int(stats.binom.ppf(_CI_ALPHA / 2, n, 0.5)))  # P(X_(j) > median) <= alpha / 2
    k = n - j + 1
    coverage = 1.0 - 2.0 * float(stats.binom.cdf(j - 1, n, 0.5))
    z = float(stats.norm.ppf(0.5 + coverage / 2.0))
    return j - 1, k - 1, z


def _order_statistic_se(x: np.ndarray) -> float:
    lo, hi, z = _ranks(x.size)
    part = np.partition(x, (lo, hi))
    return float(part[hi] - part[lo]) / (2.0 * z)


def _block_se(x: np.ndarray) -> float | None:
    size = x.size // BLOCKS
    if size < 2:
        return None
    medians = np.median(x[: size * BLOCKS].reshape(BLOCKS, size), axis=1)
    return float(np.std(medians, ddof=1) / math.sqrt(BLOCKS))


def estimate_run(samples: Sequence[float] | np.ndarray) -> RunEstimate:
    """The log median of one run's raw samples and its within-run standard error.

    The caller has checked ``sample_problem`` (finite, positive, at least MIN_SAMPLES)."""
    x = np.log(np.asarray(samples, dtype=float))
    med = float(np.median(x))
    se = _order_statistic_se(x)
    r = lag1_autocorrelation(x)
    if not is_autocorrelated(r, x.size):
        return RunEstimate(med, se, int(x.size), r, "order statistics")
    assert r is not None
    inflated = se * math.sqrt((1.0 + r) / max(1e-6, 1.0 - r))
    blocks = _block_se(x)
    return RunEstimate(med, max(inflated, blocks or 0.0), int(x.size), r, "block medians")


def estimate_from_quartiles(median: float, q1: float | None, q3: float | None, n: int) -> RunEstimate | None:
    """A run known only by its median, quartiles and count (None when they cannot give an error)."""
    if not (n >= MIN_SAMPLES and median > 0 and q1 is not None and q3 is not None and 0 < q1 <= median <= q3):
        return None
    sigma_log = (math.log(q3) - math.log(q1)) / 1.349
    return RunEstimate(math.log(median), 1.2533 * sigma_log / math.sqrt(n), int(n), None, "quartiles")
