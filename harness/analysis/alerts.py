"""Regression alerts from change points, and their life cycle (pure: the store keeps them).

States: suspected -> confirmed -> acknowledged / invalid / fixed.
- suspected: a worse step that holds for the minimum number of runs;
- confirmed: it still holds ``confirm_runs`` runs later (or a person says so);
- acknowledged: a person accepted it (known, intended); invalid: a false alarm, or suppressed
  because the device's canary workload moved at the same run (the device changed, not the
  build), or no longer detected once more runs arrived; fixed: the series came back to its
  old level (detected) or a person marked it fixed.
States set by a person are never overwritten by detection.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from harness.analysis.history import Series
from harness.analysis.thresholds import DEFAULT_DELTA
from harness.errors import HarnessError
from harness.records import Alert

__all__ = ["Alert", "STATES", "OPEN_STATES", "TRANSITIONS", "CONFIRM_RUNS", "transition", "detect_alerts", "merge",
           "open_steps"]

STATES = ("suspected", "confirmed", "acknowledged", "invalid", "fixed")
OPEN_STATES = ("suspected", "confirmed")
TRANSITIONS: dict[str, frozenset[str]] = {
    "suspected": frozenset({"confirmed", "acknowledged", "invalid", "fixed"}),
    "confirmed": frozenset({"acknowledged", "invalid", "fixed"}),
    "acknowledged": frozenset({"invalid", "fixed"}),
    "invalid": frozenset({"suspected"}),  # re-open a wrongly dismissed alert
    "fixed": frozenset({"suspected"}),
}
CONFIRM_RUNS = 5  # runs at the new level: one more than a step needs to be raised (StepRule.min_hold)


def transition(alert: Alert, new_state: str, note: str = "") -> Alert:
    if new_state not in STATES:
        raise HarnessError(f"unknown alert state {new_state!r}; expected one of {', '.join(STATES)}")
    if new_state not in TRANSITIONS[alert.state]:
        raise HarnessError(f"alert {alert.workload}/{alert.metric} on {alert.device} at run {alert.run_id}: "
                           f"cannot go from {alert.state} to {new_state}")
    return replace(alert, state=new_state, note=note or alert.note, by_user=True)


def open_steps(alerts: Iterable[Alert]) -> dict[tuple[str, ...], set[str]]:
    """series key -> run ids of steps already raised (every alert but an invalid one): detection re-judges
    them with the keep rule, so they neither flicker nor reappear one run later as a new alert."""
    out: dict[tuple[str, ...], set[str]] = {}
    for a in alerts:
        if a.state != "invalid":
            out.setdefault(a.series_key, set()).add(a.run_id)
    return out


def _canary_for(canaries: Mapping[str, str], device: str) -> str | None:
    return canaries.get(device) or canaries.get("*")


def detect_alerts(
    series: Iterable[Series], *, canaries: Mapping[str, str] | None = None, confirm_runs: int = CONFIRM_RUNS
) -> list[Alert]:
    """Alerts for every worse change point, with detected states (suspected/confirmed/fixed/invalid)."""
    series = list(series)
    canaries = canaries or {}
    moved: dict[tuple[str, str], list[str]] = {}  # (fingerprint, run_id) -> canary series that stepped there
    for s in series:
        canary = _canary_for(canaries, s.device)
        if canary and s.key[0] == canary:
            for cp in s.changes:
                moved.setdefault((s.key[3], str(s.points["run_id"].iloc[cp.index])), []).append(
                    f"{s.key[0]}/{s.key[4]} x{cp.ratio:.3f}")
    out: list[Alert] = []
    for s in series:
        pts = s.points
        for i, cp in enumerate(s.changes):
            if not cp.worse:
                continue
            run_id = str(pts["run_id"].iloc[cp.index])
            state, note = "suspected", ""
            aside, kept = s.throttled(cp.index)
            if len(pts) - cp.index - len(aside) >= confirm_runs:  # a throttled night set aside confirms nothing
                state = "confirmed"
            back = _recovery(s, i)
            if back is not None:
                state, note = "fixed", f"back to the old level at run {back}"
            canary = _canary_for(canaries, s.device)
            if canary and s.key[0] == canary:
                state, note = "invalid", "this is the device's canary: the device itself moved, not the build"
            elif canary and (s.key[3], run_id) in moved:
                state = "invalid"
                note = f"suppressed: canary {', '.join(moved[(s.key[3], run_id)])} moved at the same run (device moved)"
            out.append(Alert(
                workload=s.key[0], precision=s.key[1], backend=s.key[2], device_fingerprint=s.key[3],
                metric=s.key[4], device=s.device, run_id=run_id, prev_run_id=str(pts["run_id"].iloc[cp.index - 1]),
                build_id=_str(pts["build_id"].iloc[cp.index]), prev_build_id=_str(pts["build_id"].iloc[cp.index - 1]),
                at=str(pts["run_created_at"].iloc[cp.index]), before=cp.before, after=cp.after, ratio=cp.ratio,
                p=cp.p, state=state, note=_throttle_note(note, aside, kept)))
    return out


def _throttle_note(note: str, aside: list[str], kept: list[str]) -> str:
    """The alert's note with the throttled nights from its step on: set aside, or kept (it rests on them)."""
    parts = [note] if note else []
    if aside:
        parts.append(f"throttled night(s) set aside: {', '.join(aside)}")
    if kept:
        parts.append(f"rests on throttled nights (throttling night after night): {', '.join(kept)}")
    return "; ".join(parts)


def _recovery(s: Series, i: int) -> str | None:
    """run id where a later opposite step brings the level back within δ of the old one."""
    cp = s.changes[i]
    for later in s.changes[i + 1 :]:
        if later.worse:
            return None
        if abs(later.after / cp.before - 1.0) <= DEFAULT_DELTA:
            return str(s.points["run_id"].iloc[later.index])
    return None


def _str(v: object) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) else str(v)


def merge(existing: Iterable[Alert], detected: Iterable[Alert]) -> list[Alert]:
    """Fold a fresh detection into the stored alerts; a person's decision always stands."""
    old = {a.key: a for a in existing}
    out: dict[tuple[str, ...], Alert] = {}
    for a in detected:
        prev = old.get(a.key)
        out[a.key] = prev if prev is not None and prev.by_user else a
    for key, prev in old.items():
        if key in out:
            continue
        if prev.state in OPEN_STATES and not prev.by_user:
            out[key] = replace(prev, state="invalid", note="no longer detected with more runs")
        else:
            out[key] = prev
    return sorted(out.values(), key=lambda a: (a.at, a.device, a.workload, a.metric))
