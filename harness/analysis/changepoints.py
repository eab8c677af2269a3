"""Change points on per-run medians of one series (pure, no I/O).

A step at run k (the first run of the new level) counts only if
- it holds: each of the first ``min_hold`` runs from k differs from the level before by at
  least the threshold in the same direction, and so does the median of the runs after;
- it is large: |after - before| / before >= threshold (5 % by default);
- it stands out of the noise: |after - before| >= ``sigmas`` x the robust sigma of the run
  medians (from the MAD of successive differences on each side);
- the raw samples agree: a two-sided Mann-Whitney U on the pooled samples before vs after
  gives p < ``alpha`` (per-run medians stand in where raw samples are missing).
Scanning left to right, the level before a candidate starts at the last accepted change, so
one step is reported once, at its first run; a single outlier run never holds for 2 runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from harness.analysis.stats import mann_whitney_p

DEFAULT_WINDOW = 10
MIN_BEFORE = 3


@dataclass(frozen=True)
class ChangePoint:
    index: int  # position in the series of the first run at the new level
    before: float  # level (median of run medians) before
    after: float  # level after
    ratio: float  # after / before
    p: float  # pooled Mann-Whitney U p-value
    sigma: float  # robust sigma of run medians around their levels
    worse: bool  # in the bad direction for this metric


@dataclass(frozen=True)
class StepRule:
    threshold: float = 0.05
    sigmas: float = 2.5
    alpha: float = 0.01
    min_hold: int = 2
    window: int = DEFAULT_WINDOW


def _sigma(before: np.ndarray, after: np.ndarray) -> float:
    """Robust sigma of run medians from successive differences within each side (a later step
    inside the after-window does not inflate it): 1.4826 x MAD(diff) / sqrt(2)."""
    diffs = np.concatenate([np.diff(before), np.diff(after)])
    if diffs.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(diffs - np.median(diffs))) / np.sqrt(2.0))


def detect(
    medians: Sequence[float] | np.ndarray,
    samples: Sequence[np.ndarray | None] | None = None,
    *,
    rule: StepRule = StepRule(),
    higher_is_better: bool = False,
) -> list[ChangePoint]:
    m = np.asarray(medians, dtype=float)
    n = m.size
    out: list[ChangePoint] = []
    if n < MIN_BEFORE + rule.min_hold:
        return out
    # level[k] = median of the `window` runs before k: one vectorised pass, so the cheap "does it
    # hold?" pre-check skips most runs without touching numpy per run.
    level = pd.Series(m).rolling(rule.window, min_periods=1).median().shift(1).to_numpy()
    start = 0
    k = MIN_BEFORE
    while k <= n - rule.min_hold:
        lo = max(start, k - rule.window)
        if lo == k - rule.window and not _may_hold(m, k, level[k], rule):
            k += 1
            continue
        before = m[lo:k]
        after = m[k : k + rule.window]
        cp = _candidate(k, before, after, samples, rule, higher_is_better, lo)
        if cp is not None:
            out.append(cp)
            start = k
            k += MIN_BEFORE  # the next level needs its own history before it can step again
        else:
            k += 1
    return out


def _may_hold(m: np.ndarray, k: int, level: float, rule: StepRule) -> bool:
    if not level or not np.isfinite(level):
        return True
    held = m[k : k + rule.min_hold] / level - 1.0
    return bool(np.all(held >= rule.threshold) or np.all(held <= -rule.threshold / (1 + rule.threshold)))


def _candidate(
    k: int,
    before: np.ndarray,
    after: np.ndarray,
    samples: Sequence[np.ndarray | None] | None,
    rule: StepRule,
    higher_is_better: bool,
    lo: int,
) -> ChangePoint | None:
    if before.size < MIN_BEFORE or after.size < rule.min_hold:
        return None
    level = float(np.median(before))
    if level == 0:
        return None
    held = after[: rule.min_hold] / level - 1.0
    up, down = bool(np.all(held >= rule.threshold)), bool(np.all(held <= -rule.threshold / (1 + rule.threshold)))
    if not (up or down):
        return None
    new = float(np.median(after))
    ratio = new / level
    if (up and ratio < 1 + rule.threshold) or (down and ratio > 1 / (1 + rule.threshold)):
        return None
    sigma = _sigma(before, after)
    if abs(new - level) < rule.sigmas * sigma:
        return None
    p = _pooled_p(k, before.size, after.size, samples, before, after, lo)
    if not p < rule.alpha:
        return None
    return ChangePoint(index=k, before=level, after=new, ratio=ratio, p=p, sigma=sigma,
                       worse=down if higher_is_better else up)


def _pooled_p(
    k: int,
    nb: int,
    na: int,
    samples: Sequence[np.ndarray | None] | None,
    before: np.ndarray,
    after: np.ndarray,
    lo: int,
) -> float:
    if samples is not None:
        pre = [samples[i] for i in range(lo, lo + nb)]
        post = [samples[i] for i in range(k, k + na)]
        if all(s is not None and len(s) for s in pre + post):
            return mann_whitney_p(np.concatenate(pre), np.concatenate(post))  # type: ignore[arg-type]
    return mann_whitney_p(before, after)
