"""Change points on the log run medians of one series (pure, no I/O).

The run is the unit of evidence, and the series is its own calibration: σ_run comes from its
successive differences, steps and outlier runs left out (``analysis.noise.series_sigma``), with the
degrees of freedom that estimate is worth. A step at run k (the first run of the new level) counts
only if

- it holds: the first ``min_hold`` (4) runs from k are, on average, beyond the threshold from the level
  before (median of up to ``window`` runs), each of them at least half-way there in the same
  direction (a single outlier run never holds), and so is the level of the runs after;
- it is large: |after - before| >= the threshold (log scale: ln(1 + threshold));
- it is no run-to-run accident: a t test of the two levels against σ_run gives p < ``alpha``
  (scipy.stats.t with the σ estimate's degrees of freedom). A level is the mean of its window's runs
  less any run GROSS σ from the window's median (an outlier run); σ_run leaves out the difference
  across the step under test and across steps already found. ``alpha`` is per position: a series
  is scanned every night, so it is small;
- a segmentation agrees: the penalised piecewise-constant fit of the runs around it
  (``analysis.segmentation``) puts a breakpoint within one run of k; the step is reported where the
  fit puts it.

Known steps (open alerts) are re-judged with a looser rule, ``keep_alpha`` and half the threshold, so
a step that sits at the threshold is not raised, dropped and raised again night after night.
Scanning left to right, the level before a candidate starts at the last accepted change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from harness.analysis.noise import GROSS, differences_sigma
from harness.analysis.segmentation import bic_penalty, breakpoints
from harness.analysis.thresholds import DEFAULT_DELTA

DEFAULT_WINDOW = 10
MIN_BEFORE = 3
HISTORY_ALPHA = 1e-4  # per position and night: ~0.01 false alerts per series over 100 nights of scans
KEEP_ALPHA = 0.01  # a known step stays while it is this significant and at least half the threshold


@dataclass(frozen=True)
class ChangePoint:
    index: int  # position in the series of the first run at the new level
    before: float  # level before (mean of the run medians of its window, outlier runs left out)
    after: float  # level after
    ratio: float  # after / before
    p: float  # run-level t test of the two levels against the series' σ_run
    sigma: float  # the series' σ_run (log scale)
    worse: bool  # in the bad direction for this metric


@dataclass(frozen=True)
class StepRule:
    threshold: float = DEFAULT_DELTA
    alpha: float = HISTORY_ALPHA
    # runs a step must hold for: two runs out in the same direction are common with heavy-tailed run offsets,
    # and three are not rare with thermal ones (10 % of runs +8 %: two hot runs and one high normal run
    # made 0.037 false alerts per series over 60 nights at σ_run 4 %, 0.013 at 4); a step is still raised
    # on its 4th run, the night it would have been confirmed
    min_hold: int = 4
    window: int = DEFAULT_WINDOW
    keep_alpha: float = KEEP_ALPHA


def level(y: np.ndarray, sigma: float) -> tuple[float, int]:
    """(mean, runs) of a window of log medians, runs more than GROSS σ from its median left out."""
    if sigma > 0 and y.size >= 3:
        kept = y[np.abs(y - np.median(y)) <= GROSS * sigma]
        if kept.size:
            return float(kept.mean()), int(kept.size)
    return float(y.mean()), int(y.size)


def step_p(before: np.ndarray, after: np.ndarray, sigma: float, df: float) -> float:
    """Two-sided p of the difference of the two levels, runs independent with σ_run ``sigma``."""
    from scipy import stats
    lb, nb = level(before, sigma)
    la, na = level(after, sigma)
    diff = la - lb
    var = sigma**2 * (1.0 / na + 1.0 / nb)
    if var <= 0:
        return 0.0 if diff else 1.0
    return float(2.0 * stats.t.sf(abs(diff) / math.sqrt(var), df))


def detect(
    medians: Sequence[float] | np.ndarray,
    *,
    rule: StepRule = StepRule(),
    higher_is_better: bool = False,
    known: Iterable[int] = (),
    set_aside: Iterable[int] = (),
) -> list[ChangePoint]:
    """Change points of a series of run medians; ``known``: positions of steps already raised;
    ``set_aside``: positions left out as if missing (throttled nights: ``analysis.throttled_runs``)."""
    m = np.asarray(medians, dtype=float)
    keep = np.isfinite(m) & (m > 0)
    aside = [i for i in set_aside if 0 <= i < m.size]
    keep[aside] = False
    ok = np.flatnonzero(keep)
    y = np.log(m[ok])
    n = y.size
    if n < MIN_BEFORE + rule.min_hold:
        return []
    valid = set(ok.tolist())
    known_pos = {int(np.searchsorted(ok, k)) for k in known if k in valid}
    diffs = np.diff(y)
    thr = math.log1p(rule.threshold)
    may = _may_hold(y, rule, thr) | np.isin(np.arange(n), list(known_pos))
    out: list[ChangePoint] = []
    steps: list[int] = []  # positions of accepted steps: their differences are not noise
    start, k = 0, MIN_BEFORE
    while k <= n - rule.min_hold:
        if not may[k] and k - rule.window >= start:
            k += 1
            continue
        found = _candidate(y, k, start, diffs, steps, rule, thr, keep=k in known_pos,
                           higher_is_better=higher_is_better)
        if found is None:
            k += 1
            continue
        at, cp = found
        out.append(ChangePoint(int(ok[at]), *cp))
        steps.append(at)
        start = at
        k = at + MIN_BEFORE  # the new level needs its own history before it can step again
    return out


def detect_set_aside(
    medians: Sequence[float] | np.ndarray,
    set_aside: Sequence[int],
    *,
    rule: StepRule = StepRule(),
    higher_is_better: bool = False,
    known: Iterable[int] = (),
) -> list[ChangePoint]:
    """Change points with throttled nights set aside (``analysis.throttled_runs``): a step must show
    without them, so hot nights can neither open nor confirm one; and the series as measured must step the
    same way too, from ``rule.window`` runs before it to one after (hot nights just before a real step
    merge with it there), since leaving nights out thins the level before a step and the σ_run
    estimate, which let ordinary run-to-run noise through at σ_run 4 % with thermal nights shared by a
    device (0.04 false alerts per series over 60 nights in one simulated draw, against 0.00)."""
    known = list(known)
    found = detect(medians, rule=rule, higher_is_better=higher_is_better, known=known, set_aside=set_aside)
    if not set_aside or not found:
        return found
    plain = detect(medians, rule=rule, higher_is_better=higher_is_better, known=known)
    return [c for c in found if any(p.worse == c.worse and c.index - rule.window <= p.index <= c.index + 1
                                    for p in plain)]


def _may_hold(y: np.ndarray, rule: StepRule, thr: float) -> np.ndarray:
    """Vectorised pre-check: positions whose first ``min_hold`` runs all leave the rolling level
    (median of the ``window`` runs before) by a quarter of the threshold or more; the rest cannot step."""
    n = y.size
    out = np.zeros(n, dtype=bool)
    if n <= rule.window:
        out[:] = True
        return out
    win = np.lib.stride_tricks.sliding_window_view(y, rule.window)  # win[i] = y[i : i + window]
    level = np.full(n, np.nan)
    level[rule.window :] = np.median(win[:-1], axis=1)
    level[: rule.window] = np.nan
    dev = np.full((n, rule.min_hold), np.nan)
    for j in range(rule.min_hold):
        dev[: n - j, j] = y[j:] - level[: n - j]
    quarter = thr / 4.0  # the loosest hold rule there is: a known step's, each run half of half the threshold
    out = np.all(dev >= quarter, axis=1) | np.all(dev <= -quarter, axis=1)
    out[: rule.window] = True  # the level is still forming: check these one by one
    return out


def _candidate(y: np.ndarray, k: int, start: int, diffs: np.ndarray, steps: list[int], rule: StepRule, thr: float,
               *, keep: bool, higher_is_better: bool
               ) -> tuple[int, tuple[float, float, float, float, float, bool]] | None:
    """(position, change point fields) of a step found at ``k`` (placed where the fit puts it), or None."""
    lo = max(start, k - rule.window)
    before, after = y[lo:k], y[k : k + rule.window]
    if before.size < MIN_BEFORE or after.size < rule.min_hold:
        return None
    need = thr / 2.0 if keep else thr
    held = after[: rule.min_hold] - float(np.median(before))  # cheap first: most positions stop here
    mean = float(held.mean())
    up = bool(np.all(held >= need / 2.0)) and mean >= need
    down = bool(np.all(held <= -need / 2.0)) and mean <= -need
    if not (up or down):
        return None
    # σ_run without the difference across this step and across the steps found before it
    sigma, df = differences_sigma(np.delete(diffs, [p - 1 for p in (*steps, k)]))
    old, new = level(before, sigma)[0], level(after, sigma)[0]
    if (up and new - old < need) or (down and old - new < need):
        return None
    p = step_p(before, after, sigma, df)
    if not p < (rule.keep_alpha if keep else rule.alpha):
        return None
    at = k
    if not keep:
        where = _segmentation_break(y[lo : k + rule.window], k - lo, sigma)
        if where is None or lo + where <= start:
            return None
        at = lo + where
        if at != k:
            old, new = level(y[max(start, at - rule.window) : at], sigma)[0], level(y[at : at + rule.window], sigma)[0]
    return at, (math.exp(old), math.exp(new), math.exp(new - old), p, sigma, down if higher_is_better else up)


def _segmentation_break(window: np.ndarray, k: int, sigma: float) -> int | None:
    """The fit's breakpoint closest to ``k`` within one run of it (positions within ``window``), or None."""
    near = [b for b in breakpoints(window, bic_penalty(sigma, window.size)) if abs(b - k) <= 1]
    return min(near, key=lambda b: (abs(b - k), b)) if near else None
