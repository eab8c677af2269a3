"""The tests behind verdicts, on log run medians (scipy.stats underneath, no hand-written distributions).

- ``difference``: the difference of mean log run medians B - A with its standard error and degrees of
  freedom, from the runs themselves (Welch, or paired by round), or from a σ_run known from elsewhere
  with each run's within-run error added to the variance;
- ``t_test``: two-sided p, the confidence interval and the minimum detectable effect of a difference;
- ``holm``: Holm's step-down correction across all rows judged at once;
- ``runs_needed``: how many runs per side (rounds, when paired) would decide an undecided row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

CONFIDENCE = 0.95  # of every interval a verdict prints, and of equivalence (TOST at (1 - CONFIDENCE) / 2)
POWER = 0.80  # of the minimum detectable effect
MAX_RUNS_NEEDED = 100  # beyond this a row "sits at the threshold": more runs will not decide it soon


def quantile(q: float | np.ndarray, df: float) -> float | np.ndarray:
    """Student's t quantile (the normal one when df is infinite: a σ taken as known)."""
    from scipy import stats
    out = stats.norm.ppf(q) if not math.isfinite(df) else stats.t.ppf(q, df)
    return float(out) if np.ndim(out) == 0 else np.asarray(out)


@lru_cache(maxsize=256)
def _plan_table(paired: bool, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For k = 2..MAX_RUNS_NEEDED runs (rounds): k, df, the CONFIDENCE quantile and the quantile sum
    of a minimum detectable effect at two-sided ``alpha`` and POWER (planning asks for these often)."""
    from scipy import stats
    k = np.arange(2, MAX_RUNS_NEEDED + 1)
    df = (k - 1 if paired else 2 * k - 2).astype(float)
    conf = stats.t.ppf(0.5 + CONFIDENCE / 2.0, df)
    mde = stats.t.ppf(1.0 - alpha / 2.0, df) + stats.t.ppf(POWER, df)
    return k, df, conf, mde


def survival(x: float, df: float) -> float:
    from scipy import stats
    return float(stats.norm.sf(x) if not math.isfinite(df) else stats.t.sf(x, df))


@dataclass(frozen=True)
class Difference:
    """d = mean log median B - mean log median A (paired: mean of per-round differences)."""

    d: float
    se: float
    df: float
    var_run: float  # the variance of one run's log median (σ_run² + within-run error²): for planning
    sigma_run: float  # σ_run itself (net of within-run error), what a row reports


def welch(a: Sequence[float], b: Sequence[float], se_a: Sequence[float], se_b: Sequence[float]) -> Difference:
    """Welch's t on log run medians; the runs' own spread already holds their within-run error."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
    qa, qb = va / x.size, vb / y.size
    se = math.sqrt(qa + qb)
    df = (qa + qb) ** 2 / ((qa**2 / (x.size - 1) if qa else 0.0) + (qb**2 / (y.size - 1) if qb else 0.0)) \
        if qa + qb > 0 else float(x.size + y.size - 2)
    pooled = ((x.size - 1) * va + (y.size - 1) * vb) / (x.size + y.size - 2)
    within = float(np.mean(np.concatenate([np.asarray(se_a) ** 2, np.asarray(se_b) ** 2])))
    return Difference(float(y.mean() - x.mean()), se, float(df), pooled, math.sqrt(max(0.0, pooled - within)))


def pooled(a: Sequence[float], b: Sequence[float], se_a: Sequence[float], se_b: Sequence[float]) -> Difference:
    """Student's t with the sides' spreads pooled: one device has one σ_run, so both sides' runs estimate
    it (k_A + k_B - 2 degrees of freedom). At 3 runs per side Welch's degrees of freedom fall anywhere from
    2 to 4 with the draw, and the test's power and minimum detectable effect with them."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    va, vb = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
    df = float(x.size + y.size - 2)
    var = ((x.size - 1) * va + (y.size - 1) * vb) / df
    within = float(np.mean(np.concatenate([np.asarray(se_a) ** 2, np.asarray(se_b) ** 2])))
    return Difference(float(y.mean() - x.mean()), math.sqrt(var * (1.0 / x.size + 1.0 / y.size)), df, var,
                      math.sqrt(max(0.0, var - within)))


def one_sided_pool(a: Sequence[float], b: Sequence[float], se_a: Sequence[float], se_b: Sequence[float]) -> Difference:
    """Student's t when only one side has runs to spare: its spread stands for both sides."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    many, se_many = (x, se_a) if x.size >= y.size else (y, se_b)
    var = float(np.var(many, ddof=1))
    se = math.sqrt(var * (1.0 / x.size + 1.0 / y.size))
    within = float(np.mean(np.asarray(se_many) ** 2))
    return Difference(float(y.mean() - x.mean()), se, float(many.size - 1), var, math.sqrt(max(0.0, var - within)))


def paired(a: Sequence[float], b: Sequence[float], se_a: Sequence[float], se_b: Sequence[float]) -> Difference:
    """Paired t on per-round differences of log medians (A B B A rounds cancel drift)."""
    dd = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    var_d = float(np.var(dd, ddof=1))
    within = float(np.mean(np.asarray(se_a) ** 2 + np.asarray(se_b) ** 2)) / 2.0
    return Difference(float(dd.mean()), math.sqrt(var_d / dd.size), float(dd.size - 1), var_d / 2.0,
                      math.sqrt(max(0.0, var_d / 2.0 - within)))


def known_sigma(a: Sequence[float], b: Sequence[float], se_a: Sequence[float], se_b: Sequence[float], sigma: float,
                df: float, *, is_paired: bool = False) -> Difference:
    """σ_run known from calibration, history or an assumed default; each run's within-run error added."""
    ea, eb = np.asarray(se_a, dtype=float) ** 2, np.asarray(se_b, dtype=float) ** 2
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if is_paired:
        r = x.size
        d = float((y - x).mean())
        se = math.sqrt(2.0 * sigma**2 / r + float(np.sum(ea + eb)) / r**2)
    else:
        d = float(y.mean() - x.mean())
        se = math.sqrt(sigma**2 / x.size + sigma**2 / y.size + float(ea.sum()) / x.size**2 + float(eb.sum()) / y.size**2)
    within = float(np.mean(np.concatenate([ea, eb])))
    return Difference(d, se, df, sigma**2 + within, sigma)


@dataclass(frozen=True)
class TTest:
    p: float  # two-sided, H0: no difference
    low: float  # CONFIDENCE interval of d
    high: float
    mde: float  # minimum detectable |d| at POWER for a two-sided test at alpha / tests, beyond ``bound`` (log)


def t_test(diff: Difference, alpha: float, *, tests: int = 1, bound: float = 0.0) -> TTest:
    """``tests``: the rows judged together (Holm asks the hardest row for alpha / tests, so that is
    what the MDE of one changed row is); ``bound``: a verdict also needs the change beyond ±bound."""
    if diff.se <= 0 or not math.isfinite(diff.se):
        exact = diff.d == 0
        return TTest(p=1.0 if exact else 0.0, low=diff.d, high=diff.d, mde=bound)
    p = 2.0 * survival(abs(diff.d) / diff.se, diff.df)
    half = float(quantile(0.5 + CONFIDENCE / 2.0, diff.df)) * diff.se
    return TTest(p=min(1.0, p), low=diff.d - half, high=diff.d + half,
                 mde=detectable(diff.se, diff.df, alpha / max(1, tests), bound))


def detectable(se: float, df: float, alpha: float, bound: float = 0.0) -> float:
    """The true |d| found with probability POWER: significant at two-sided ``alpha`` (noncentral t when
    the standard error is estimated, df finite) and its estimate beyond ``bound``."""
    sig = mde_factor(max(0.5, round(df * 2) / 2) if math.isfinite(df) else math.inf, alpha) * se
    beyond = bound + float(quantile(POWER, df)) * se if bound > 0 else 0.0
    return max(sig, beyond)


@lru_cache(maxsize=4096)
def mde_factor(df: float, alpha: float) -> float:
    """Noncentrality at which a two-sided t test at ``alpha`` with ``df`` degrees of freedom has POWER."""
    from scipy import stats
    from scipy.optimize import brentq
    crit = float(quantile(1.0 - alpha / 2.0, df))
    if not math.isfinite(df) or df > 200:
        return crit + float(stats.norm.ppf(POWER))

    def power_gap(ncp: float) -> float:
        return float(stats.nct.sf(crit, df, ncp)) - POWER

    hi = crit + 10.0
    while power_gap(hi) < 0 and hi < 1e6:
        hi *= 2.0
    return float(brentq(power_gap, 0.0, hi, xtol=1e-4))


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


def runs_needed(diff: Difference, *, bound: float, alpha: float, tests: int, have: int,
                is_paired: bool = False) -> int | None:
    """Runs per side (rounds when paired) after which this difference, if it stays where it is, would
    be decided: equivalent within ±bound, or significant (Bonferroni over ``tests``, the most Holm can
    ask) and beyond ±bound. With that many runs they estimate σ_run themselves (t with 2k - 2, paired
    k - 1, degrees of freedom). None when more than MAX_RUNS_NEEDED would be needed (it sits at the
    bound)."""
    from scipy import stats
    d = abs(diff.d)
    k, df, conf, _ = _plan_table(is_paired, alpha)
    se = np.sqrt(2.0 * diff.var_run / k)  # paired: var(B - A) / k; unpaired: var_run (1/k + 1/k)
    decided = d + conf * se < bound
    if d >= bound:
        decided |= 2.0 * stats.t.sf(d / np.maximum(se, 1e-300), df) < alpha / max(1, tests)
    hit = np.flatnonzero(decided & (k > have))
    return int(k[hit[0]]) if hit.size else None


def runs_to_detect(var_run: float, effect: float, *, alpha: float, tests: int = 1, paired: bool = False) -> int | None:
    """Runs per side (rounds when paired) whose minimum detectable effect, at POWER and two-sided alpha
    (Bonferroni over ``tests``), is at most ``effect`` (log scale) when one run's log median varies by
    ``var_run``; σ_run estimated from the runs themselves. None beyond MAX_RUNS_NEEDED."""
    k, _, _, factor = _plan_table(paired, alpha / max(1, tests))
    se = np.sqrt(2.0 * var_run / k)  # paired: var(B - A) / k; unpaired: var_run (1/k + 1/k)
    hit = np.flatnonzero(factor * se <= effect)
    return int(k[hit[0]]) if hit.size else None


# ---------------------------------------------------------------------------- a median's own interval (tables)
DEFAULT_SEED = 20240607
DEFAULT_RESAMPLES = 2000
ORDER_STATISTICS_MIN_N = 20  # below this the order-statistic interval is too coarse: bootstrap


#: up to here 2.0**n is a float: a q that is m / 2**n is decided exactly (integer sums of binomials)
EXACT_TIE_MAX_N = 1023


def binomial_half_quantile(q: float, n: int) -> int:
    """``scipy.stats.binom.ppf(q, n, 0.5)`` for 0 < q < 1: the least k with P(X <= k) >= q, from
    scipy.special's binomial functions (scipy.stats' own pre-Boost recipe). Loading scipy.stats costs
    ~1.2 s CPU, scipy.special a third of that, and every `harness run` prints median intervals."""
    if q == 0.5:  # a tie for every odd n (P(X <= (n-1)/2) is exactly 1/2), which floats decide by chance
        return n // 2
    if n <= EXACT_TIE_MAX_N and (q * 2.0 ** n).is_integer():
        # q = m / 2**n exactly, so the CDF may equal q: decide in integers, as a tie must be
        target, total, comb = int(q * 2.0 ** n), 0, 1
        for k in range(n + 1):
            total += comb
            if total >= target:
                return k
            comb = comb * (n - k) // (k + 1)
        return n
    from scipy import special

    k = math.ceil(float(special.bdtrik(q, n, 0.5)))
    return k - 1 if k > 0 and float(special.bdtr(k - 1, n, 0.5)) >= q else k


def median_ci(samples: Sequence[float] | np.ndarray, *, confidence: float = CONFIDENCE,
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
        low = binomial_half_quantile((1 - confidence) / 2, xs.size)
        return float(xs[low - 1]), float(xs[xs.size - low])
    from scipy import stats

    res = stats.bootstrap((x,), np.median, vectorized=True, confidence_level=confidence,
                          n_resamples=DEFAULT_RESAMPLES, method="percentile", random_state=np.random.default_rng(seed))
    return float(res.confidence_interval.low), float(res.confidence_interval.high)
