"""Runs that ran hot, set aside on the evidence the probes recorded (pure).

A thermal run offset (a warm phone, a Pi at its soft temperature limit: 10 % of runs 8 % slow) is
shared by every row the run measured, and skews the run-level estimates: with five runs a side no
location test finds +10 % in 90 % of comparisons without knowing which runs ran hot. The probes do know
(``probes.throttling``: Pi ``get_throttled``, Android thermal status, active cooling devices; a core
below its max clock under a pinned governor), and flag the cell ``throttled``.

**The rule (compare).** Per device and side, a run with a throttling flag on any of that device's cells
is set aside from the device's estimates (its rows and its common shift) when at least
``MIN_UNFLAGGED`` (2) unflagged runs remain on that side; with fewer, every run is kept and the verdict
says it rests on throttled runs. The sides are judged apart: a hot run of A is set aside even when B
has too few unflagged runs to set its own aside. A paired comparison (``ab``) keeps its rounds whole.

**A throttled run the probes missed.** Probes miss some hot runs (the simulation's detect 4 in 5), and one
such run left among 5 shifts its side's mean by its whole offset over 5 and inflates the run-level σ:
with one in A, +10 % at σ_run 2 % was found in 37 % of comparisons. So on a device whose probes flagged
throttling in this comparison (on either side), the worst run of a side that keeps ``MISSED_MIN_RUNS``
(4) runs or more is set aside too when it is more than ``MISSED_SIGMA`` (3.5) standard deviations worse
than its side's other runs (its deleted residual: the spread pooled over both sides without it). Only
where the device was seen throttling, and only the slow tail, since throttling only ever slows a run: on
a device with no flag the runs are judged as they are, so normal-theory verdicts keep their α there.
Measured (``benchmarks/test_statistics_simulation.py``): +10 % at σ_run 2 %, thermal offsets shared, 5 v 5,
found in 96.0 % (150 comparisons), 93.0 % at 300 and 90.1 % at 1000 on other seeds (91.3 % of the 1450;
89.3 % before); on 2 × 10⁴ comparisons
of run levels alone 89.2 → 91.9 %, and the shift's A/A false rate per direction stays ≤ 0.36 % (0.30 %
without) at σ_run 2-12 %, normal, t3 and thermal offsets. A value rule on every device instead (no flag
needed), calibrated to keep α under normal offsets, lost power (80-87 %): the flag is what makes it pay.

**The rule (history).** A flagged night is set aside from a series' step detection (as a missing
point), so a hot night can neither open a step nor confirm one, unless it is one of ``PERSISTENT``
(4) or more flagged nights in a row: a device that throttles night after night is in a new state, which
a step must still be able to show (it then says it rests on throttled runs). Four is what a step must
hold for (``changepoints.StepRule.min_hold``). A step found with nights set aside must show in the series
as measured too (``changepoints.detect_set_aside``).

Setting a flagged run aside needs no look at its values: the flag is recorded beside the samples, so an
unflagged run's offset is drawn as usual and the estimates of what is left stay unbiased; a flag that
misses a hot run (detection < 1) leaves that run in unless it is far out on a device seen throttling (above).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

MIN_UNFLAGGED = 2  # unflagged runs a side must keep for its flagged runs to be set aside
MISSED_SIGMA = 3.5  # a run this many σ worse than its side's others, on a device that throttled: missed by the probes
MISSED_MIN_RUNS = 4  # runs a side must keep for its worst to be judged so (at least 3 remain)
PERSISTENT = 4  # flagged nights in a row that are the device's state, not a hot night


@dataclass(frozen=True)
class FlaggedRun:
    """One run with throttling evidence on a device: which side, which run, what the probe said."""

    device: str
    side: str  # "A" or "B"
    run_id: str
    flag: str

    @property
    def text(self) -> str:
        return f"{self.side} run {self.run_id} ({self.flag})"


@dataclass
class SetAside:
    """What the rule decided for one device of a comparison."""

    device: str
    set_aside: list[FlaggedRun] = field(default_factory=list)  # judged without these runs
    kept: list[FlaggedRun] = field(default_factory=list)  # flagged, kept: too few unflagged runs on their side
    missed: FlaggedRun | None = None  # in set_aside too: not flagged, taken for a hot run the probes missed

    @property
    def run_ids(self) -> dict[str, set[str]]:
        """Side ("A", "B") -> the run ids set aside on it."""
        out: dict[str, set[str]] = {"A": set(), "B": set()}
        for f in self.set_aside:
            out[f.side].add(f.run_id)
        return out

    @property
    def sentence(self) -> str:
        """What a reader must know, or "" when no run of the device was flagged."""
        parts = []
        if self.set_aside:
            parts.append("throttled run(s) set aside: " + "; ".join(f.text for f in self.set_aside)
                         + f" (at least {MIN_UNFLAGGED} unflagged runs remain on their side)")
        if self.kept:
            parts.append("the verdict rests on throttled runs: " + "; ".join(f.text for f in self.kept)
                         + f" kept (fewer than {MIN_UNFLAGGED} unflagged runs on their side)")
        return f"{self.device or 'device'}: " + ", ".join(parts) if parts else ""


def decide(device: str, a: Iterable[tuple[str, str | None]], b: Iterable[tuple[str, str | None]],
           min_unflagged: int = MIN_UNFLAGGED, levels: Mapping[tuple[str, str], float] | None = None) -> SetAside:
    """``a``, ``b``: (run id, throttling flag or None) for every cell of the device on that side (a run
    is flagged when any of its cells is); ``levels``: (side, run id) -> the device's level in that run
    (log scale, + is worse), when known. Which flagged runs are set aside, which are kept and why."""
    out = SetAside(device)
    a_cells, b_cells = list(a), list(b)
    for side, cells in (("A", a_cells), ("B", b_cells)):
        flags: dict[str, str | None] = {}
        for run_id, flag in cells:
            if flag and not flags.get(run_id):
                flags[run_id] = flag
            else:
                flags.setdefault(run_id, None)
        flagged = [FlaggedRun(device, side, r, f) for r, f in flags.items() if f]
        unflagged = len(flags) - len(flagged)
        (out.set_aside if unflagged >= min_unflagged else out.kept).extend(flagged)
    if levels is not None and (out.set_aside or out.kept):
        kept = {side: [r for r in dict.fromkeys(run for run, _ in cells)
                       if r not in out.run_ids[side] and (side, r) in levels]
                for side, cells in (("A", a_cells), ("B", b_cells))}
        found = missed(device, {side: {r: levels[(side, r)] for r in runs} for side, runs in kept.items()})
        if found is not None:
            out.set_aside.append(found)
            out.missed = found
    return out


def missed(device: str, levels: Mapping[str, Mapping[str, float]]) -> FlaggedRun | None:
    """The one run of the device most likely a throttled run the probes missed, or None: ``levels``: side
    ("A", "B") -> run id -> level of the runs kept (+ is worse). The worst run of a side keeping
    MISSED_MIN_RUNS runs or more, when its deleted residual (its level less its side's other runs' mean,
    over the spread pooled over both sides without it) exceeds MISSED_SIGMA; the most outlying if both."""
    best: tuple[float, str, str] | None = None
    for side, other in (("A", "B"), ("B", "A")):
        runs, rest_other = levels.get(side, {}), list(levels.get(other, {}).values())
        if len(runs) < MISSED_MIN_RUNS:
            continue
        worst = max(runs, key=lambda r: runs[r])
        rest = np.array([v for r, v in runs.items() if r != worst])
        y = np.array(rest_other)
        df = rest.size - 1 + max(0, y.size - 1)
        ss = float(np.sum((rest - rest.mean()) ** 2)) + (float(np.sum((y - y.mean()) ** 2)) if y.size else 0.0)
        if df < 2 or ss <= 0:
            continue
        r = (runs[worst] - float(rest.mean())) / math.sqrt(ss / df * (1.0 + 1.0 / rest.size))
        if r > MISSED_SIGMA and (best is None or r > best[0]):
            best = (r, side, worst)
    if best is None:
        return None
    r, side, run_id = best
    return FlaggedRun(device, side, run_id, f"not flagged, {r:.1f} σ slower than its side's other runs on a device "
                                            "that throttled: taken for a throttled run the probes missed")


def history_set_aside(flagged: Sequence[bool], persistent: int = PERSISTENT) -> list[int]:
    """Positions of a series' flagged nights to leave out of step detection: every flagged night but
    those in a stretch of ``persistent`` or more flagged nights in a row."""
    out: list[int] = []
    i, n = 0, len(flagged)
    while i < n:
        if not flagged[i]:
            i += 1
            continue
        j = i
        while j < n and flagged[j]:
            j += 1
        if j - i < persistent:
            out.extend(range(i, j))
        i = j
    return out
