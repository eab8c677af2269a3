"""A whole-device common shift: every row of a device moving together between the sides (pure).

Clocks, thermal state and background load move every row of a run at once: one such run offset,
judged row by row, makes 20 REGRESSED rows out of one bad run, and nothing says they moved together.
So a comparison on a device is split in two:

- the **common shift**: per run, the median over the device's rows of the run's departure from its
  row's A level (oriented so that + is worse: a higher-is-better metric counts negated) — one *run
  level* per run; B's levels against A's are tested once, with the spread of those run levels (the
  run-level σ), never 20 times;
- each **row's change relative to it**: the row's log run medians less their run's level, so a row
  that moved with the device is unchanged and a row that moved on its own stands out.

A real across-the-board regression (a new runtime) is still a shift beyond ±δ, and is reported as one
finding; what the runs recorded (contention, throttling) says whether the device or the build
explains it better (``explain``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_SHIFT_ROWS = 5  # fewer rows on a device cannot tell a common shift from a few rows that changed


@dataclass(frozen=True)
class RunInfo:
    """What a comparison knows of one run of one row beside its samples."""

    run_id: str
    cores: float | None = None  # CPU other processes used during its steady windows (contention), in cores
    throttled: bool = False  # a throttling flag on the cell
    cpu_count: int | None = None  # cores of the device
    flag: str = ""  # what the throttling probe said ("throttled" when only the code is known)


@dataclass(frozen=True)
class ShiftRow:
    """One row's log run medians per side with its runs, oriented (+1 lower is better, -1 higher)."""

    a: Sequence[float]
    b: Sequence[float]
    a_runs: Sequence[str]
    b_runs: Sequence[str]
    orientation: int


@dataclass
class RunLevels:
    """Run id -> the device's level in that run (log scale, + is worse), per side."""

    a: dict[str, float] = field(default_factory=dict)
    b: dict[str, float] = field(default_factory=dict)

    @property
    def shift(self) -> float:
        return float(np.mean(list(self.b.values())) - np.mean(list(self.a.values())))


def run_levels(rows: Sequence[ShiftRow]) -> RunLevels | None:
    """Each run's level: the median over the rows it measured of (oriented log median - the row's A mean).
    None under MIN_SHIFT_ROWS rows, or when a run id is missing."""
    if len(rows) < MIN_SHIFT_ROWS:
        return None
    dev: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        if not r.a or not r.b or len(r.a_runs) != len(r.a) or len(r.b_runs) != len(r.b):
            return None
        centre = float(np.mean(r.a))
        for side, ys, ids in (("a", r.a, r.a_runs), ("b", r.b, r.b_runs)):
            for y, rid in zip(ys, ids, strict=True):
                if not rid:
                    return None
                dev.setdefault((side, rid), []).append(r.orientation * (float(y) - centre))
    out = RunLevels()
    for (side, rid), v in dev.items():
        getattr(out, side)[rid] = float(np.median(v))
    return out


SHARED_ALPHA = 0.05  # run levels this unlikely under independent row offsets: the offsets are shared


def shared_offsets(a: Sequence[float], b: Sequence[float], var_runs: Sequence[float]) -> bool:
    """Do the runs' levels vary within each side more than independent row offsets would make them?

    A level is the median over the rows of their departures, so with offsets per row its variance is
    about (π / 2) var_run / rows; a chi-square test of the levels' pooled within-side variance against
    that. Judging rows relative to the levels costs degrees of freedom; it pays only when the device's
    rows share their runs' offsets (clocks, thermal state, load)."""
    from scipy import stats
    df = (len(a) - 1) + (len(b) - 1)
    v = [x for x in var_runs if x > 0 and math.isfinite(x)]
    if df < 1 or not v:
        return False
    expected = math.pi / 2.0 * float(np.median(v)) / len(v)
    ss = sum(float(np.sum((np.asarray(x) - np.mean(x)) ** 2)) for x in (a, b) if len(x) > 1)
    if expected <= 0:
        return ss > 0
    return float(stats.chi2.sf(ss / expected, df)) < SHARED_ALPHA


def relative(row: ShiftRow, levels: RunLevels) -> tuple[list[float], list[float]]:
    """The row's log run medians less its runs' levels (back in the row's own orientation)."""
    a = [float(y) - row.orientation * levels.a[rid] for y, rid in zip(row.a, row.a_runs, strict=True)]
    b = [float(y) - row.orientation * levels.b[rid] for y, rid in zip(row.b, row.b_runs, strict=True)]
    return a, b


@dataclass(frozen=True)
class Evidence:
    """What the runs of each side recorded that a device-wide cause would leave behind."""

    cores_a: float | None  # the most CPU others took during any run of the side
    cores_b: float | None
    throttled_a: int  # runs with a throttling flag
    throttled_b: int
    runs_a: int
    runs_b: int
    cpu_count: int | None


def evidence(a: Sequence[RunInfo], b: Sequence[RunInfo]) -> Evidence:
    def most(infos: Sequence[RunInfo]) -> float | None:
        v = [i.cores for i in infos if i.cores is not None and math.isfinite(i.cores)]
        return max(v) if v else None

    counts = [i.cpu_count for i in (*a, *b) if i.cpu_count]
    return Evidence(most(a), most(b), len({i.run_id for i in a if i.throttled}),
                    len({i.run_id for i in b if i.throttled}), len({i.run_id for i in a}),
                    len({i.run_id for i in b}), min(counts) if counts else None)


def contention_differs(e: Evidence, threshold: float) -> bool:
    """The sides differ in contention beyond the threshold (a side never measured counts as quiet)."""
    return abs((e.cores_b or 0.0) - (e.cores_a or 0.0)) > threshold


def contention_bound(e: Evidence, slower_in_b: bool) -> float | None:
    """The most that the contention difference can slow the slower side against the other (log scale):
    a runner that could use all N cores keeps N - c of them while others take c, so the slower side at
    most (N - c_other) / (N - c_slower) times slower; nothing when the slower side was the quieter one.
    None when the core count is unknown or others took (nearly) all of them."""
    if not e.cpu_count:
        return None
    n = float(e.cpu_count)
    ca, cb = min(e.cores_a or 0.0, n), min(e.cores_b or 0.0, n)
    slow, fast = (cb, ca) if slower_in_b else (ca, cb)
    if slow <= fast:
        return 0.0
    if n - slow <= 0.05 * n:
        return None
    return math.log((n - fast) / (n - slow))


def explain(e: Evidence, worse_in_b: bool, threshold: float) -> tuple[bool, str]:
    """(the device explains it better, the sentence saying why) for a shift worse in B (or in A)."""
    parts, device = [], False
    if e.cores_a is not None or e.cores_b is not None:
        ca, cb = e.cores_a or 0.0, e.cores_b or 0.0
        text = f"contention A {ca:.2f} / B {cb:.2f} cores"
        busier_b = cb - ca > threshold
        busier_a = ca - cb > threshold
        if (busier_b and worse_in_b) or (busier_a and not worse_in_b):
            device = True
            text += " (the slower side was busier)"
        parts.append(text)
    else:
        parts.append("contention not measured")
    if e.throttled_a or e.throttled_b:
        parts.append(f"throttling flagged in {e.throttled_a}/{e.runs_a} runs of A, {e.throttled_b}/{e.runs_b} of B")
        if (e.throttled_b > 0 and e.throttled_a == 0 and worse_in_b) or \
                (e.throttled_a > 0 and e.throttled_b == 0 and not worse_in_b):
            device = True
    else:
        parts.append("no throttling flagged")
    verdict = "favours the device" if device else "nothing recorded points at the device: favours the build"
    return device, "; ".join(parts) + f": {verdict}"
