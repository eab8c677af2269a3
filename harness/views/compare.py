"""A comparison as the commands and pages show it: sides loaded, σ_run priors found, rows judged.

``compare_refs`` takes what a person types (run ids, build ids, files, comma-separated for several
runs per side); ``compare_sides`` takes sides already loaded (``ab``'s rounds, the site's latest run
per device). Both say plainly whether a calibration applied.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

from harness.analysis import noise as N
from harness.analysis.compare import Comparison, Priors, RowKey, compare
from harness.analysis.stats import MAX_RUNS_NEEDED, runs_to_detect
from harness.analysis.thresholds import Thresholds
from harness.records import ROW_KEY, CalibratedNoise, Side
from harness.results.analysis_tables import load_run_noise
from harness.results.exporters.llama_bench import adopt_foreign
from harness.results.run_refs import RunFilter
from harness.results.sources import open_existing, resolve_side, side_refs
from harness.results.store import Store
from harness.views import noise as noise_view


@dataclass(frozen=True)
class CompareOptions:
    thresholds: Thresholds | None = None
    allow_artifact_change: bool = False
    allow_config_change: bool = False
    use_calibration: bool = True
    use_history: bool = True


def all_files(*specs: str) -> bool:
    return all(Path(ref).is_file() for spec in specs for ref in side_refs(spec))


def compare_refs(a: str, b: str, *, store_url: str | None = None, options: CompareOptions = CompareOptions(),
                 store: Store | None = None, counted: RunFilter = RunFilter()) -> Comparison:
    """Compare what the user named; with files only, an absent store is never created (and said so).
    ``counted`` narrows which runs ``latest`` / ``latest~N`` count."""
    if store is None:
        store = open_existing(store_url) if all_files(a, b) else Store(store_url)
    side_a = resolve_side(a, store, which="A", counted=counted)
    side_b = resolve_side(b, store, which="B", counted=counted)
    side_a, side_b, notes = adopt_foreign(side_a, side_b)  # a llama-bench file has no device of its own
    cmp = compare_sides(side_a, side_b, store, options)
    cmp.notes[:0] = notes
    return cmp


def _noisy_keys(side: Side) -> set[RowKey]:
    m = side.metrics
    if m.empty:
        return set()
    m = m[m["kind"] == "noisy"]
    return {tuple(str(v) for v in rec) for rec in m[list(ROW_KEY)].itertuples(index=False)}  # type: ignore[misc]


def compare_sides(a: Side, b: Side, store: Store | None, options: CompareOptions = CompareOptions(), *,
                  paired: bool = False, priors: Priors | None = None) -> Comparison:
    """``priors``: σ_run already looked up for these rows (several comparisons share one lookup)."""
    keys = _noisy_keys(a) & _noisy_keys(b)
    pri = priors if priors is not None else noise_view.priors(
        store, keys, set(a.runs) | set(b.runs), use_calibration=options.use_calibration,
        use_history=options.use_history)
    cmp = compare(a, b, options.thresholds, priors=pri, allow_artifact_change=options.allow_artifact_change,
                  allow_config_change=options.allow_config_change, paired=paired)
    cmp.notes.append(_calibration_note(cmp, store, options, n_calibrated=len(pri.calibrated)))
    return cmp


def _calibration_note(cmp: Comparison, store: Store | None, options: CompareOptions, n_calibrated: int) -> str:
    used = sum(r.sigma_source == "calibrated" for r in cmp.rows)
    if used:
        return f"calibration applied: σ_run from `harness calibrate` on {used} row(s)"
    if not options.use_calibration:
        return "calibration not applied (--no-calibration)"
    if store is None:
        return "calibration not applied: no results store to read one from (files only; --store names one)"
    if not n_calibrated:
        return f"calibration not applied: none stored in {store.shown} for these devices and series"
    return "calibration not needed: every row estimated σ_run from its own runs"


def rounds_plan(store: Store, devices: Sequence[str], thresholds: Thresholds | None) -> list[str]:
    """Before an A/B: per calibrated device (name matching ``devices`` globs), how many rounds detect ±delta
    at its calibrated σ_run (median over its series; 80 % power, paired by round)."""
    th = thresholds or Thresholds()
    per: dict[str, list[CalibratedNoise]] = {}
    for c in load_run_noise(store):
        if not devices or any(fnmatchcase(c.device or "", g) for g in devices):
            per.setdefault(c.device or c.device_fingerprint, []).append(c)
    if not per:
        return ["no calibration for these devices: `harness calibrate` measures their σ_run and how many rounds "
                "detect a change of ±δ"]
    lines = []
    for device, items in sorted(per.items()):
        typical = sorted(items, key=lambda c: c.sigma)[len(items) // 2]
        limit = th.resolve(typical.workload, typical.precision, typical.backend, typical.metric)
        rounds = runs_to_detect(typical.sigma**2 + typical.within**2, math.log1p(limit.delta), alpha=limit.alpha,
                                paired=True)
        pct = N.as_percent(typical.sigma) or 0.0
        lines.append(f"{device}: calibrated σ_run {pct:.1f} % (median of {len(items)} series): "
                     + (f"{rounds} rounds detect ±{limit.delta:.0%} (80 % power)" if rounds
                        else f"more than {MAX_RUNS_NEEDED} rounds to detect ±{limit.delta:.0%}"))
    return lines
