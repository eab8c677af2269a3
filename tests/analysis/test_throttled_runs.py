"""The set-aside rule for runs with throttling evidence (pure), and history's use of it."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from harness.analysis.changepoints import detect, detect_set_aside
from harness.analysis.throttled_runs import (
    MIN_UNFLAGGED,
    MISSED_MIN_RUNS,
    PERSISTENT,
    decide,
    history_set_aside,
    missed,
)

HOT = "throttled: Android thermal status 3 (severe) during the cell"


def _cells(runs: dict[str, str | None], rows: int = 3) -> list[tuple[str, str | None]]:
    """Every row of the device measured every run; the flag on the first row's cell only."""
    return [(r, flag if i == 0 else None) for r, flag in runs.items() for i in range(rows)]


def test_a_flagged_run_is_set_aside_when_two_unflagged_runs_remain_on_its_side() -> None:
    d = decide("pixel-7", _cells({"a0": None, "a1": None, "a2": None}),
               _cells({"b0": None, "b1": HOT, "b2": None}))
    assert [(f.side, f.run_id, f.flag) for f in d.set_aside] == [("B", "b1", HOT)] and not d.kept
    assert d.run_ids == {"A": set(), "B": {"b1"}}
    assert d.sentence.startswith("pixel-7: throttled run(s) set aside: B run b1 (throttled: Android thermal status 3")


def test_with_fewer_unflagged_runs_every_run_is_kept_and_the_verdict_says_it_rests_on_them() -> None:
    d = decide("pi5", _cells({"a0": None, "a1": None}), _cells({"b0": HOT, "b1": None}))
    assert not d.set_aside and [f.run_id for f in d.kept] == ["b0"]
    assert "rests on throttled runs: B run b0" in d.sentence and f"fewer than {MIN_UNFLAGGED}" in d.sentence
    # sides are judged apart: A sets its hot run aside even though B cannot
    d = decide("pi5", _cells({"a0": HOT, "a1": None, "a2": None}), _cells({"b0": HOT, "b1": None}))
    assert [f.text for f in d.set_aside] == [f"A run a0 ({HOT})"] and [f.run_id for f in d.kept] == ["b0"]


def test_no_flag_no_decision() -> None:
    d = decide("pixel-7", _cells({"a0": None, "a1": None, "a2": None}), _cells({"b0": None}))
    assert not d.set_aside and not d.kept and d.sentence == ""


def test_a_run_far_slower_than_its_side_on_a_device_that_throttled_is_taken_for_a_missed_flag() -> None:
    a = {"a0": 0.00, "a1": 0.02, "a2": -0.02, "a3": 0.01, "a4": 0.16}  # a4 8 σ slower: hot, not flagged
    b = {"b0": 0.10, "b1": 0.12, "b2": 0.08, "b3": 0.09}
    levels = {**{("A", r): v for r, v in a.items()}, **{("B", r): v for r, v in b.items()}, ("B", "b4"): 0.3}
    d = decide("pixel-7", _cells({r: None for r in a}), _cells({**{r: None for r in b}, "b4": HOT}), levels=levels)
    assert d.run_ids == {"A": {"a4"}, "B": {"b4"}}
    assert "A run a4 (not flagged, " in d.sentence and "throttled run the probes missed" in d.sentence
    # no flag on the device: the runs are judged as they are
    d = decide("pixel-7", _cells({r: None for r in a}), _cells({r: None for r in b}), levels=levels)
    assert d.run_ids == {"A": set(), "B": set()}
    # fewer than MISSED_MIN_RUNS on a side, or a run within MISSED_SIGMA: nothing
    assert missed("d", {"A": {k: a[k] for k in ("a0", "a1", "a4")}, "B": b}) is None
    assert missed("d", {"A": {**a, "a4": 0.05}, "B": b}) is None


@given(st.lists(st.floats(-1.0, 1.0), min_size=4, max_size=7), st.lists(st.floats(-1.0, 1.0), min_size=2, max_size=7),
       st.floats(0.01, 10.0), st.floats(-5.0, 5.0))
def test_what_is_taken_for_a_missed_flag_does_not_depend_on_units_or_origin(
        a: list[float], b: list[float], scale: float, origin: float) -> None:
    def side(prefix: str, v: list[float], f: float = 1.0, o: float = 0.0) -> dict[str, float]:
        return {f"{prefix}{i}": f * x + o for i, x in enumerate(v)}

    got = missed("d", {"A": side("a", a), "B": side("b", b)})
    moved = missed("d", {"A": side("a", a, scale, origin), "B": side("b", b, scale, origin)})
    if got is None or moved is None:  # at the threshold, rounding may tip it
        return
    assert (got.side, got.run_id) == (moved.side, moved.run_id)
    runs = side("a", a) if got.side == "A" else side("b", b)
    assert runs[got.run_id] == max(runs.values()) and len(runs) >= MISSED_MIN_RUNS


@given(st.lists(st.booleans(), max_size=40))
def test_history_sets_aside_only_flagged_nights_and_keeps_persistent_stretches(flags: list[bool]) -> None:
    aside = history_set_aside(flags)
    assert all(flags[i] for i in aside) and aside == sorted(set(aside))
    for i, f in enumerate(flags):
        if not f:
            continue
        lo = i
        while lo > 0 and flags[lo - 1]:
            lo -= 1
        hi = i
        while hi + 1 < len(flags) and flags[hi + 1]:
            hi += 1
        assert (i in aside) == (hi - lo + 1 < PERSISTENT)


def _series(levels: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 10.0 * levels * np.exp(rng.normal(0.0, 0.01, levels.size))


def test_hot_nights_set_aside_do_not_open_a_step_but_a_real_step_is_still_found() -> None:
    levels = np.ones(29)
    levels[25:29] = 1.12  # the night's scan: the last four nights ran hot; the probes flagged three of them
    med = _series(levels)
    flags = [i in (25, 26, 28) for i in range(29)]
    assert any(c.worse and 24 <= c.index <= 26 for c in detect(med))  # on the values alone: a step
    assert not [c for c in detect(med, set_aside=history_set_aside(flags)) if c.worse]  # one hot night left
    step = np.where(np.arange(40) >= 25, 1.10, 1.0)
    flags = [i == 27 for i in range(40)]  # a hot night inside a real step
    found = [c for c in detect(_series(step, 1), set_aside=history_set_aside(flags)) if c.worse]
    assert [c.index for c in found] == [25] and math.isclose(found[0].ratio, 1.10, abs_tol=0.02)


def test_a_step_that_only_shows_with_nights_set_aside_is_not_raised() -> None:
    # every other night before night 12 ran hot and was flagged; the unflagged ones sat low, then the
    # series settled between the two: with the hot nights left out it looks like +7 %, as measured it is flat
    levels = np.array([1.10 if i < 12 and i % 2 else 0.96 for i in range(20)])
    levels[12:] = 1.03
    med = _series(levels, 2)
    aside = history_set_aside([i < 12 and i % 2 == 1 for i in range(20)])
    assert [c.index for c in detect(med, set_aside=aside) if c.worse] == [12]
    assert not [c for c in detect_set_aside(med, aside) if c.worse]
