"""Run-to-run noise: the one home of robust σ, of σ as a percentage, and of σ_run's sources (pure).

The model behind every verdict: log(run median) = truth + run offset + within-run error. The run
offset (thermal state, clocks, background load) has standard deviation σ_run, for one device ×
workload × precision × backend × metric. It comes, in order, from

- ``estimated``: the runs given on each side of a comparison (at least 2 degrees of freedom);
- ``calibrated``: the device's A/A runs (``harness calibrate``: ``calibrate`` below);
- ``history``: the baseline series' own run medians (``history_noise``: robust to a step);
- ``assumed``: the default declared in the thresholds (``run_noise``), which the output then names.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.analysis.thresholds import CALIBRATION_RUNS, MIN_CALIBRATION_RUNS

__all__ = ["CALIBRATION_RUNS", "MIN_CALIBRATION_RUNS", "SOURCES", "RunNoise", "Calibration", "robust_sigma",
           "series_sigma", "differences_sigma", "successive_sigma", "as_percent", "from_percent", "assumed",
           "history_noise", "calibrate", "tail_df", "Staleness", "variance_ratio", "STALE_ALPHA"]

SOURCES = ("estimated", "calibrated", "history", "assumed")
MSSD_EFFICIENCY = 2.0 / 3.0  # of the mean square successive difference against the variance (normal data)
GROSS = 3.5  # a successive difference this many robust σ out is a step or an outlier run, not noise
MIN_HISTORY_RUNS = 6  # a baseline series shorter than this gives no σ_run
HISTORY_WINDOW = 30  # the latest runs of a baseline series that σ_run is read from
RECENT_RUNS = 8  # a history σ_run is checked against the spread of this many latest runs


# 1.4826: MAD -> σ for normal data; 1 / scipy.stats.norm.ppf(0.75) written out so that importing this
# module does not load scipy.stats (~1.6 s CPU per process); tests/analysis/test_noise.py checks the digits
MAD_SCALE = 1.0 / 0.6744897501960817


def robust_sigma(x: Sequence[float] | np.ndarray) -> float:
    """1.4826 x MAD: the standard deviation a normal sample with this MAD would have (NaN when empty).

    numpy's median directly: scipy's median_abs_deviation costs milliseconds per call in its
    argument handling, and history detection calls this for every candidate step."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return float("nan")
    return MAD_SCALE * float(np.median(np.abs(v - np.median(v))))


def series_sigma(log_medians: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """(σ, degrees of freedom) of the run-to-run noise of a time series of log run medians.

    From its successive differences, so a slow drift does not count; the differences more than GROSS
    robust σ (MAD) from their median are steps or outlier runs and are left out, and the rest give the
    mean square successive difference (von Neumann), worth 2/3 of a variance's degrees of freedom. A
    step or an outlier run moves one or two differences: it does not inflate σ. (NaN, 0) under 2 runs."""
    y = np.asarray(log_medians, dtype=float)
    y = y[np.isfinite(y)]
    if y.size < 2:
        return float("nan"), 0.0
    return differences_sigma(np.diff(y))


def differences_sigma(d: np.ndarray) -> tuple[float, float]:
    """``series_sigma`` from the successive differences themselves (a caller may leave some out: the
    difference across a step it is testing)."""
    d = np.asarray(d, dtype=float)
    if d.size == 0:
        return float("nan"), 0.0
    s0 = robust_sigma(d)
    kept = d[np.abs(d - np.median(d)) <= GROSS * s0] if s0 > 0 else d
    if kept.size == 0:
        kept = d
    return float(np.sqrt(np.mean(kept**2) / 2.0)), max(1.0, MSSD_EFFICIENCY * kept.size)


def successive_sigma(log_medians: Sequence[float] | np.ndarray) -> float:
    """σ of ``series_sigma`` alone."""
    return series_sigma(log_medians)[0]


def as_percent(sigma: float | None) -> float | None:
    """A σ of log values as the percentage a person reads: 100 (e^σ - 1)."""
    if sigma is None or not math.isfinite(sigma):
        return None
    return 100.0 * math.expm1(sigma) if sigma < 700.0 else math.inf


def from_percent(pct: float) -> float:
    """A percentage (5 means 5 %) as a σ of log values."""
    return math.log1p(pct / 100.0)


@dataclass(frozen=True)
class RunNoise:
    """σ_run for one row with where it came from; ``df`` = inf when assumed (no estimate to doubt)."""

    sigma: float
    df: float
    source: str
    runs: int = 0  # how many runs stand behind it
    detail: str = ""
    date: str = ""  # when it was measured (calibrations: YYYY-MM-DD)


def assumed(sigma: float) -> RunNoise:
    return RunNoise(sigma=sigma, df=math.inf, source="assumed", detail="declared default (thresholds run_noise)")


def history_noise(log_medians: Sequence[float] | np.ndarray) -> RunNoise | None:
    """σ_run from the latest ``HISTORY_WINDOW`` run medians of a baseline series (None when too short).

    It counts each run's within-run error too (the series' runs are all there is): a little high, so
    a verdict on it errs towards INCONCLUSIVE."""
    from scipy import stats
    y = np.asarray(log_medians, dtype=float)
    y = y[np.isfinite(y)][-HISTORY_WINDOW:]
    if y.size < MIN_HISTORY_RUNS:
        return None
    s, df = series_sigma(y)
    if not math.isfinite(s):
        return None
    recent, rdf = series_sigma(y[-RECENT_RUNS:])
    if y.size > RECENT_RUNS and math.isfinite(recent) and s > 0 and recent > s \
            and float(stats.f.sf((recent / s) ** 2, rdf, df)) < STALE_ALPHA:
        return RunNoise(sigma=recent, df=rdf, source="history", runs=RECENT_RUNS,
                        detail=f"history stale (recent {as_percent(recent):.1f} %, last {y.size} runs "
                               f"{as_percent(s):.1f} %): σ of the last {RECENT_RUNS} run medians")
    return RunNoise(sigma=s, df=df, source="history", runs=int(y.size),
                    detail=f"robust σ of the last {y.size} run medians of the baseline series")


@dataclass(frozen=True)
class Calibration:
    sigma: float  # σ_run: between-run standard deviation of log medians net of within-run error
    low: float  # its 95 % interval (chi-square on the run medians' variance)
    high: float
    df: float
    n_runs: int
    within: float  # root mean square within-run standard error of the runs


def tail_df(x: Sequence[float] | np.ndarray) -> float:
    """Degrees of freedom a sample variance of ``x`` is worth when the data may be heavy-tailed.

    var(s²) / σ⁴ = 2 / (n - 1) + (κ - 3) / n for kurtosis κ: 10 runs with a Student-t (3 dof) or
    thermal-mixture offset are worth far fewer than 9 normal-theory degrees of freedom. κ is the
    sample's own (never below 3: a light-tailed sample earns nothing extra); at least 1."""
    v = np.asarray(x, dtype=float)
    v = v[np.isfinite(v)]
    n = v.size
    if n < 2:
        return 0.0
    c = v - v.mean()
    m2 = float(np.mean(c**2))
    kurt = float(np.mean(c**4)) / (m2 * m2) if m2 > 0 else 3.0
    rel_var = 2.0 / (n - 1) + max(0.0, kurt - 3.0) / n
    return max(1.0, min(float(n - 1), 2.0 / rel_var))


@dataclass(frozen=True)
class Staleness:
    """A σ_run known beforehand, checked against what the runs at hand show (variance-ratio test)."""

    ratio: float  # observed variance of the standardised differences / the prior's (1: as expected)
    p: float  # one-sided: the runs at hand are noisier than the prior says
    df: float  # degrees of freedom of the observed variance
    rows: int  # standardised differences it was read from

    @property
    def stale(self) -> bool:
        return self.p < STALE_ALPHA and self.ratio > 1.0


STALE_ALPHA = 0.05  # a prior found too small is replaced by the larger observed σ: erring here is cheap
MIN_STALE_ROWS = 8  # fewer rows cannot tell a prior gone stale from a few rows that really changed


def variance_ratio(z: Sequence[float] | np.ndarray, prior_df: float) -> Staleness | None:
    """Are these standardised differences (each row's B - A less the device's common shift, divided by
    the standard error the prior gives it: unit variance when the prior holds) noisier than the prior?

    F test of their mean square against 1 with (kept, prior_df) degrees of freedom; differences more
    than GROSS robust σ out (a row that really changed) are left out of the mean square, so a few real
    changes do not make a calibration look stale. None under MIN_STALE_ROWS."""
    from scipy import stats
    v = np.asarray(z, dtype=float)
    v = v[np.isfinite(v)]
    if v.size < MIN_STALE_ROWS:
        return None
    s0 = robust_sigma(v)
    kept = v[np.abs(v - np.median(v)) <= GROSS * max(s0, 1.0)]
    if kept.size < MIN_STALE_ROWS:
        kept = v
    ratio = float(np.mean(kept**2))
    df = float(kept.size)
    p = float(stats.chi2.sf(ratio * df, df) if not math.isfinite(prior_df) or prior_df > 1e6
              else stats.f.sf(ratio, df, prior_df))
    return Staleness(ratio=ratio, p=p, df=df, rows=int(v.size))


def calibrate(log_medians: Sequence[float], within_se: Sequence[float]) -> Calibration | None:
    """σ_run from A/A runs of one series: the variance of their log medians less the mean within-run
    variance (method of moments), with a 95 % chi-square interval on the degrees of freedom the runs
    are worth given their tails (``tail_df``; None under MIN_CALIBRATION_RUNS)."""
    from scipy import stats
    m = np.asarray(log_medians, dtype=float)
    se = np.asarray(within_se, dtype=float)
    ok = np.isfinite(m) & np.isfinite(se)
    m, se = m[ok], se[ok]
    if m.size < MIN_CALIBRATION_RUNS:
        return None
    df = tail_df(m)
    total = float(np.var(m, ddof=1))
    within = float(np.mean(se**2))

    def net(var_total: float) -> float:
        return math.sqrt(max(0.0, var_total - within))

    lo_total = df * total / float(stats.chi2.ppf(0.975, df))
    hi_total = df * total / float(stats.chi2.ppf(0.025, df))
    return Calibration(sigma=net(total), low=net(lo_total), high=net(hi_total), df=df, n_runs=int(m.size),
                       within=math.sqrt(within))
