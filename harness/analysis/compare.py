"""`compare` as a pure decision: two sides in, a list of verdict rows out (no I/O, no printing).

The run is the unit of evidence. Rows are matched on (workload, precision, backend, device
fingerprint, metric); each side holds one or more runs. A noisy metric is judged on log run medians:
the difference of their means B - A, its variance from σ_run (``analysis.noise`` says where σ_run
comes from) plus each run's within-run error (``analysis.within_run``), Welch's t (or paired by round
for ``ab``), Holm across all rows judged together:

- REGRESSED iff Holm p < alpha and the effect is beyond delta in the bad direction; IMPROVED symmetric;
- UNCHANGED only by equivalence: the 95 % interval lies inside ±delta (TOST); delta is fixed;
- INCONCLUSIVE otherwise, with how many runs per side (rounds for ``ab``) would decide it.

Every row states its evidence: runs per side, σ_run with its source, the minimum detectable effect.
Deterministic metrics: tolerances and an optional budget. INCOMPARABLE when the device fingerprint,
the artifact, the metric's definition (unit and method, never sample counts) or the cell's
configuration (session settings, provider and its options, runner) differ, when a side has no
measured run, or when a run's samples are missing, NaN or too few.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import device_shift as DS
from harness.analysis import noise as N
from harness.analysis import stats as S
from harness.analysis import throttled_runs as TR
from harness.analysis.compare_unmatched import FailedCell, OneSided, unmatched
from harness.analysis.flags import CONTENTION_CORES
from harness.analysis.thresholds import Threshold, Thresholds
from harness.analysis.within_run import RunEstimate, estimate_from_quartiles, estimate_run, sample_problem
from harness.records import CELL_KEY, MEASURED, ROW_KEY, THROTTLED, Side

__all__ = ["CELL_KEY", "ROW_KEY", "MEASURED", "Side", "Verdict", "Row", "Comparison", "Priors", "NoisyRow", "Shift",
           "compare",
           "judge_noisy", "method_definition", "noisy_row"]

MIN_ESTIMATE_DF = 2  # the runs given estimate σ_run from this many degrees of freedom on
MIN_PAIRED_ROUNDS = 3  # a paired test needs this many rounds to estimate its own variance
# A single run per side is one draw of the run offset, and devices draw heavy-tailed ones (Student t with
# 3 dof, 10 % of runs 8 % slow on a warm phone): 10 calibration runs cannot show such a tail. So a row with a
# single run on a side is REGRESSED / IMPROVED only against Student t with TAIL_DF dof, and, when nothing
# measured σ_run, at SINGLE_RUN_GUARD (the noisiest device class) at least; otherwise it is SUSPECTED.
TAIL_DF = 3.0
SINGLE_RUN_GUARD = 0.12
# A comparison's family of tests is its rows and its devices' common shifts, and α is the family's: half
# goes to the common shifts (split evenly across devices), half to the rows (Holm). A shift found
# significant passes its share on to the rows (weighted Holm). With each spending a full α, A/A false
# IMPROVED at σ_run 12 %, 5 runs per side, read 1.5 % per comparison (the rows' 0.5 % per direction plus
# the shift's): the family must hold 1 % per direction with room to spare.
SHIFT_SHARE = 0.5
RowKey = tuple[str, str, str, str, str]  # ROW_KEY: what calibration and history are keyed on
GroupKey = tuple[str, str, str, str, str, str]  # ROW_KEY + device name: one row of a comparison


class Verdict(str, Enum):
    REGRESSED = "REGRESSED"
    IMPROVED = "IMPROVED"
    UNCHANGED = "UNCHANGED"
    INCONCLUSIVE = "INCONCLUSIVE"
    INCOMPARABLE = "INCOMPARABLE"
    SUSPECTED = "SUSPECTED"  # a change beyond ±δ on a single run per side: exit 0 (3 under --strict)
    FAILED = "FAILED"  # measured in A, failed or timed out in B: it used to work


@dataclass
class Row:
    workload: str
    precision: str
    backend: str
    device: str
    device_fingerprint: str
    metric: str
    unit: str | None
    kind: str
    verdict: Verdict
    reason: str = ""
    a: float | None = None  # geometric mean of run medians (noisy) or the median of run values (deterministic)
    b: float | None = None
    ratio: float | None = None  # B/A
    ci_low: float | None = None  # 95 % interval of B/A
    ci_high: float | None = None
    p: float | None = None
    p_holm: float | None = None
    n_a: int = 0  # raw samples, all runs of the side together
    n_b: int = 0
    runs_a: int = 0  # measured runs per side: the unit of evidence
    runs_b: int = 0
    sigma_run: float | None = None  # run-to-run noise used, as a fraction of the median (0.03 = 3 %)
    sigma_source: str | None = None  # estimated / calibrated / history / assumed
    sigma_df: float | None = None
    sigma_detail: str | None = None  # where σ_run came from: calibration date and runs, staleness
    sigma_runs: int | None = None  # runs behind a calibrated or history σ_run
    sigma_date: str | None = None  # when a calibration was made (YYYY-MM-DD)
    sigma_stale: bool = False  # a prior σ_run the rows at hand contradicted: the larger observed one is used
    mde: float | None = None  # minimum detectable effect (80 % power, Holm over the rows judged), as a fraction
    shift: float | None = None  # the device's common shift this row was judged relative to (fraction)
    runs_needed: int | None = None  # INCONCLUSIVE: runs per side (rounds when paired) that would decide it
    runs_for_delta: int | None = None  # runs per side (rounds) that detect ±delta at this σ_run (80 % power)
    paired: bool = False
    delta: float | None = None
    higher_is_better: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


@dataclass
class Comparison:
    a_label: str
    b_label: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    shifts: list[Shift] = field(default_factory=list)  # one per device with enough rows: judged once
    one_sided: list[OneSided] = field(default_factory=list)  # not compared: listed, no verdict
    throttled: list[TR.SetAside] = field(default_factory=list)  # per device with flagged runs: set aside or kept

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for r in self.rows:
            out[r.verdict.value] += 1
        return out

    def exit_code(self, strict: bool = False) -> int:
        """0 no regression, 1 regression or a cell that failed in B, 2 incomparable rows (or, under --strict,
        cells or metrics on one side only), 3 inconclusive or suspected rows under --strict."""
        verdicts = {r.verdict for r in self.rows} | {s.verdict for s in self.shifts}
        if Verdict.REGRESSED in verdicts or Verdict.FAILED in verdicts:
            return 1
        if Verdict.INCOMPARABLE in verdicts or (strict and self.one_sided):
            return 2
        if strict and verdicts & {Verdict.INCONCLUSIVE, Verdict.SUSPECTED}:
            return 3
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a_label,
            "b": self.b_label,
            "counts": self.counts(),
            "notes": list(self.notes),
            "shifts": [s.to_dict() for s in self.shifts],
            "rows": [r.to_dict() for r in self.rows],
            "one_sided": [o.to_dict() for o in self.one_sided],
            "throttled": [{"device": t.device, "set_aside": [asdict(f) for f in t.set_aside],
                           "kept": [asdict(f) for f in t.kept]} for t in self.throttled],
        }


@dataclass(frozen=True)
class Priors:
    """σ_run known before looking at the runs: per row key (workload, precision, backend, fingerprint,
    metric), from the device's calibration and from the baseline series' history."""

    calibrated: Mapping[RowKey, N.RunNoise] = field(default_factory=dict)
    history: Mapping[RowKey, N.RunNoise] = field(default_factory=dict)


def compare(
    a: Side,
    b: Side,
    thresholds: Thresholds | None = None,
    *,
    priors: Priors | None = None,
    allow_artifact_change: bool = False,
    allow_config_change: bool = False,
    paired: bool = False,
) -> Comparison:
    """Judge every row; ``paired``: the sides' runs carry ``round`` numbers (``ab``), pair them."""
    thresholds = thresholds or Thresholds()
    priors = priors or Priors()
    ga, gb = _by_row(a.metrics), _by_row(b.metrics)
    renamed = _pair_renamed(ga, gb)
    fails_a, fails_b = _failed_cells(a.cells), _failed_cells(b.cells)
    rows: list[Row] = []
    pending: list[NoisyRow] = []
    for key in sorted(set(ga) & set(gb)):
        th = thresholds.resolve(key[0], key[1], key[2], key[4])
        ra, rb = ga[key], gb[key]
        row = _base_row(key[:5], ra, rb, th)  # type: ignore[arg-type]
        if key in renamed:
            row.notes.append(renamed[key])
        cell_a, cell_b = _cell_of(key, ra), _cell_of(key, rb)
        _note_failed_runs(row, "A", fails_a.get(cell_a, []), ra)
        _note_failed_runs(row, "B", fails_b.get(cell_b, []), rb)
        reason = _incomparable(ra, rb, fails_a.get(cell_a, []), fails_b.get(cell_b, []), allow_artifact_change,
                               allow_config_change, row)
        ma, mb = _measured(ra), _measured(rb)
        row.runs_a, row.runs_b = _run_count(ma), _run_count(mb)
        _note_conditions(row, ma, mb)
        if reason:
            _incomparable_row(row, reason, ma, mb)
        elif row.kind == "noisy":
            item = _noisy(row, ma, mb, th, paired)
            if isinstance(item, str):
                _incomparable_row(row, item, ma, mb)
            else:
                pending.append(item)
        else:
            _judge_deterministic(row, ma, mb, th)
        rows.append(row)
    shifts = judge_noisy(pending, priors)
    lone = unmatched(ga, gb, fails_a, fails_b)
    rows += _one_side_rows(lone.fingerprint_moved, lone.failed, ga)
    rows.sort(key=lambda r: (r.device, r.workload, r.precision, r.backend, r.metric))
    throttled = list({id(it.throttle): it.throttle for it in pending if it.throttle is not None}.values())
    cmp = Comparison(a.label, b.label, rows, shifts=shifts, one_sided=lone.one_sided, throttled=throttled)
    _summary_notes(cmp, paired)
    return cmp


# ---------------------------------------------------------------------------- grouping
Runs = list[dict[str, Any]]  # one record per (run, cell, metric) of one row on one side


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _by_row(frame: pd.DataFrame) -> dict[GroupKey, Runs]:
    """The side's records grouped by row key and device (plain dicts: per-row work on small frames is slow).

    Two device profiles on one machine share a fingerprint; their rows stay apart by device name."""
    out: dict[GroupKey, Runs] = {}
    if frame.empty:
        return out
    for rec in frame.to_dict("records"):
        if rec.get("kind") not in ("noisy", "deterministic"):
            continue
        fp = rec.get("device_fingerprint")
        rec["device_fingerprint"] = "" if _missing(fp) else str(fp)
        key = (*(str(rec.get(k)) for k in ROW_KEY), "" if _missing(rec.get("device")) else str(rec.get("device")))
        out.setdefault(key, []).append(rec)  # type: ignore[arg-type]
    return out


def _pair_renamed(ga: dict[GroupKey, Runs], gb: dict[GroupKey, Runs]) -> dict[GroupKey, str]:
    """A row on one device name in A and another in B, same fingerprint and nothing else to pair it
    with: the device profile was renamed. B's runs move under A's key; returns the rows' notes."""
    only_a = [k for k in ga if k not in gb]
    only_b = [k for k in gb if k not in ga]
    notes: dict[GroupKey, str] = {}
    for key in only_a:
        same_a = [k for k in only_a if k[:5] == key[:5]]
        same_b = [k for k in only_b if k[:5] == key[:5]]
        if len(same_a) == 1 and len(same_b) == 1:
            gb[key] = gb.pop(same_b[0])
            notes[key] = f"device renamed: {key[5]} in A, {same_b[0][5]} in B (same fingerprint)"
    return notes


def _cell_of(key: GroupKey, runs: Runs) -> tuple[str, ...]:
    """The failed-cells key of a row on one side: its cell and the device name that side used."""
    return (*key[:4], str(_first(runs, "device") or key[5]))


def _failed_cells(cells: pd.DataFrame) -> dict[tuple[str, ...], list[tuple[str, str, str]]]:
    """(cell key, device) -> [(run_id, status, error)] for runs where that cell did not measure."""
    out: dict[tuple[str, ...], list[tuple[str, str, str]]] = {}
    if cells.empty:
        return out
    for rec in cells.to_dict("records"):
        if rec.get("status") in MEASURED:
            continue
        key = (*("" if (k == "device_fingerprint" and _missing(rec.get(k))) else str(rec.get(k)) for k in CELL_KEY),
               "" if _missing(rec.get("device")) else str(rec.get("device")))
        out.setdefault(key, []).append((str(rec.get("run_id")), str(rec.get("status")), str(rec.get("error") or "")))
    return out


def _measured(runs: Runs) -> Runs:
    return [r for r in runs if r.get("status") in MEASURED]


def _run_count(runs: Runs) -> int:
    return len({r.get("run_id") for r in runs})


def _first(runs: Runs, field: str) -> Any:
    return next((r[field] for r in runs if not _missing(r.get(field))), None)


def _base_row(key: RowKey, ra: Runs, rb: Runs, th: Threshold) -> Row:
    device = _first(rb, "device") or _first(ra, "device") or ""
    return Row(workload=key[0], precision=key[1], backend=key[2], device=str(device), device_fingerprint=key[3],
               metric=key[4], unit=_first(rb, "unit") or _first(ra, "unit"),
               kind=str(_first(rb, "kind") or _first(ra, "kind") or ""), verdict=Verdict.INCONCLUSIVE,
               delta=th.delta, higher_is_better=th.higher_is_better)


# ---------------------------------------------------------------------------- comparability
def method_definition(method: Any) -> str:
    """How a metric was measured, without what varies from run to run: sample counts, warm-up counts,
    why sampling stopped. Stores written before the method lost them say "median of 361 (max_seconds),
    2 warm-up", which reads as "median"; any other wording is kept ("VmHWM (measured session only)"
    is not "VmHWM": the measurement changed)."""
    text = str(method or "")
    text = re.sub(r"\bmedian of \d+ \([^()]*\)", "median", text)  # the count and the stop reason
    text = re.sub(r",\s*\d+ warm-?up\b", "", text)  # ", 2 warm-up"
    text = re.sub(r"\d+(\.\d+)?", "#", text)
    return re.sub(r"\s+", " ", text).strip(" ,")


def _distinct(runs: Runs, field: str, norm: Any = str) -> set[Any]:
    return {norm(r[field]) for r in runs if not _missing(r.get(field))}


def _incomparable(ra: Runs, rb: Runs, fails_a: list[tuple[str, str, str]], fails_b: list[tuple[str, str, str]],
                  allow_artifact_change: bool, allow_config_change: bool, row: Row) -> str:
    ma, mb = _measured(ra), _measured(rb)
    for side, m, runs, fails in (("A", ma, ra, fails_a), ("B", mb, rb, fails_b)):
        if not m:
            bad = [r for r in runs if r.get("status") not in MEASURED]
            status, err = ((str(bad[0].get("status")), str(bad[0].get("error") or "")) if bad
                           else (fails[0][1], fails[0][2]) if fails else ("failed", ""))
            return f"{side} {status}" + (f": {err}" if err and not _missing(err) else "")
    kinds = _distinct(ma, "kind") | _distinct(mb, "kind")
    if len(kinds) > 1:
        return f"metric kind differs ({' vs '.join(sorted(kinds))})"
    ua, ub = _distinct(ma, "unit"), _distinct(mb, "unit")
    if ua != ub or len(ua) > 1:
        return f"unit differs ({', '.join(sorted(ua)) or '-'} vs {', '.join(sorted(ub)) or '-'})"
    da, db = _distinct(ma, "method", method_definition), _distinct(mb, "method", method_definition)
    if da != db or len(da) > 1:
        return f"measurement method differs ({'; '.join(sorted(da)) or '-'} vs {'; '.join(sorted(db)) or '-'})"
    ha, hb = _distinct(ma, "artifact_sha256"), _distinct(mb, "artifact_sha256")
    if ha and hb and ha != hb and not allow_artifact_change:
        return (f"artifact sha256 differs ({', '.join(h[:12] for h in sorted(ha))} vs "
                f"{', '.join(h[:12] for h in sorted(hb))}); --allow-artifact-change judges anyway")
    ca, cb = _distinct(ma, "config"), _distinct(mb, "config")
    if ca and cb and ca != cb:
        what = _config_diff(ca, cb)
        if not allow_config_change:
            return f"configuration differs ({what}); --allow-config-change judges anyway"
        row.notes.append(f"configuration changed: {what}")
    elif bool(ca) != bool(cb):
        row.notes.append(f"configuration unknown on {'A' if not ca else 'B'}: settings could not be checked")
    return ""


def _config_diff(ca: set[str], cb: set[str]) -> str:
    """Which settings differ between two sets of canonical configurations ("k=v;k=v")."""
    def parse(configs: set[str]) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for c in configs:
            for part in c.split(";"):
                k, _, v = part.partition("=")
                out.setdefault(k, set()).add(v)
        return out

    pa, pb = parse(ca), parse(cb)
    diffs = [f"{k} {'/'.join(sorted(pa.get(k, {'-'})))} vs {'/'.join(sorted(pb.get(k, {'-'})))}"
             for k in sorted(set(pa) | set(pb)) if pa.get(k) != pb.get(k)]
    return ", ".join(diffs) or "runs within a side differ"


def _note_failed_runs(row: Row, side: str, fails: list[tuple[str, str, str]], runs: Runs) -> None:
    if fails and _measured(runs):
        run, status, err = fails[0]
        total = len(fails) + _run_count(_measured(runs))
        row.notes.append(f"{len(fails)} of {total} runs of {side} did not measure (run {run} {status}"
                         + (f": {err[:120]}" if err else "") + "); judged on the others")


def _note_conditions(row: Row, ma: Runs, mb: Runs) -> None:
    """Measurement conditions a reader must know about: contention on the device during a run."""
    hits = []
    for side, m in (("A", ma), ("B", mb)):
        for rec in {r.get("run_id"): r for r in m}.values():
            flags = rec.get("flags")
            if isinstance(flags, (tuple, list)) and "contention" in flags:
                cores = rec.get("contention_cores")
                load = f", others used {cores:.2f} cores" if isinstance(cores, float) and math.isfinite(cores) else ""
                hits.append(f"{side} run {rec['run_id']}{load}")
    if hits:
        row.notes.append("measured under contention: " + "; ".join(hits))


def _incomparable_row(row: Row, reason: str, ma: Runs, mb: Runs) -> None:
    row.verdict, row.reason = Verdict.INCOMPARABLE, reason
    row.a, row.b = _side_value(ma), _side_value(mb)
    if row.a and row.b is not None:
        row.ratio = row.b / row.a


def _side_value(m: Runs) -> float | None:
    vals = [_float(r.get("value")) for r in m]
    finite = [v for v in vals if math.isfinite(v)]
    return float(np.median(finite)) if finite else None


# ---------------------------------------------------------------------------- deterministic
def _judge_deterministic(row: Row, ma: Runs, mb: Runs, th: Threshold) -> None:
    a, b = _side_value(ma), _side_value(mb)
    row.a, row.b = a, b
    if a is None or b is None:
        row.verdict, row.reason = Verdict.INCOMPARABLE, f"no value on side {'A' if a is None else 'B'}"
        return
    if a:
        row.ratio = b / a
    slack = abs(a) * th.rel_tol + th.abs_tol
    diff = (a - b) if th.higher_is_better else (b - a)  # > 0 means B is worse
    over_budget = th.budget is not None and ((b < th.budget) if th.higher_is_better else (b > th.budget))
    if over_budget:
        row.verdict, row.reason = Verdict.REGRESSED, f"B {b:.6g} breaks the budget {th.budget:.6g}"
    elif diff > slack:
        row.verdict, row.reason = Verdict.REGRESSED, f"worse by {abs(b - a):.6g} (tolerance {slack:.6g})"
    elif -diff > slack:
        row.verdict, row.reason = Verdict.IMPROVED, f"better by {abs(b - a):.6g} (tolerance {slack:.6g})"
    else:
        row.verdict, row.reason = Verdict.UNCHANGED, f"within tolerance {slack:.6g}"


# ---------------------------------------------------------------------------- noisy
@dataclass
class NoisyRow:
    """A noisy row ready to judge: each side's run estimates (``pairs``: indexes of runs of the same round)."""

    row: Row
    key: RowKey
    a: list[RunEstimate]
    b: list[RunEstimate]
    th: Threshold
    pairs: list[tuple[int, int]] | None  # indexes into a, b of runs of the same round (paired test)
    diff: S.Difference | None = None
    noise: N.RunNoise | None = None
    a_info: list[DS.RunInfo] = field(default_factory=list)  # per run of a, b: run id, contention, throttling
    b_info: list[DS.RunInfo] = field(default_factory=list)
    rel_diff: S.Difference | None = None  # B - A relative to the device's common shift, when one applies
    shift: float | None = None
    checked: bool = False  # a prior σ_run was checked against the rows at hand
    throttle: TR.SetAside | None = None  # the device's throttled runs: set aside or kept (throttled_runs)
    missed_back: tuple[list[RunEstimate], list[RunEstimate]] | None = None  # runs with a missed-flag run put back


def _run_info(rec: Mapping[str, Any]) -> DS.RunInfo:
    flags = rec.get("flags")
    cores = _float_or_none(rec.get("contention_cores"))
    count = _float_or_none(rec.get("cpu_count"))
    throttled = isinstance(flags, (tuple, list)) and THROTTLED in flags
    note = rec.get("throttle")
    return DS.RunInfo(str(rec.get("run_id") or ""), cores, throttled, int(count) if count else None,
                      (str(note) if isinstance(note, str) and note else THROTTLED) if throttled else "")


def _run_estimates(side: str, m: Runs) -> list[tuple[Any, RunEstimate, DS.RunInfo]] | str:
    """(round, estimate, run info) per measured run of one side, or why a run cannot be judged."""
    out: list[tuple[Any, RunEstimate, DS.RunInfo]] = []
    for rec in m:
        where = f"{side} run {rec['run_id']}"
        raw = rec.get("samples")
        if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
            x = np.asarray(raw, dtype=float)
            problem = sample_problem(x)
            if problem:
                return f"{where}: {problem}"
            out.append((rec.get("round"), estimate_run(x), _run_info(rec)))
            continue
        st = rec.get("stats") if isinstance(rec.get("stats"), Mapping) else None
        est = None
        if st:
            est = estimate_from_quartiles(_float(st.get("median")), _float_or_none(st.get("q1")),
                                          _float_or_none(st.get("q3")), int(_float(st.get("n"), 0.0)))
        if est is None:
            return f"{where}: no raw samples" + (" and no usable median, quartiles and count" if st else "")
        out.append((rec.get("round"), est, _run_info(rec)))
    return out


def _float(v: Any, default: float = float("nan")) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return default
    return f if math.isfinite(f) else default


def _float_or_none(v: Any) -> float | None:
    f = _float(v)
    return f if math.isfinite(f) else None


def _noisy(row: Row, ma: Runs, mb: Runs, th: Threshold, paired: bool) -> NoisyRow | str:
    ea, eb = _run_estimates("A", ma), _run_estimates("B", mb)
    if isinstance(ea, str):
        return ea
    if isinstance(eb, str):
        return eb
    row.n_a, row.n_b = sum(e.n for _, e, _ in ea), sum(e.n for _, e, _ in eb)
    pairs = None
    if paired:
        ia = {r: i for i, (r, _, _) in enumerate(ea) if r is not None}
        pairs = [(ia[r], j) for j, (r, _, _) in enumerate(eb) if r is not None and r in ia]
        if not pairs:
            row.notes.append("no rounds in common: judged unpaired")
            pairs = None
    auto = [e for _, e, _ in ea + eb if e.autocorrelated]
    if auto:
        worst = max(e.lag1 or 0.0 for e in auto)
        row.notes.append(f"autocorrelated samples in {len(auto)} run(s) (lag-1 up to {worst:.2f}): "
                         "within-run error from block medians")
    return NoisyRow(row, (row.workload, row.precision, row.backend, row.device_fingerprint, row.metric),
                    [e for _, e, _ in ea], [e for _, e, _ in eb], th, pairs, a_info=[i for _, _, i in ea],
                    b_info=[i for _, _, i in eb])


def noisy_row(key: RowKey, th: Threshold, a: Sequence[RunEstimate], b: Sequence[RunEstimate], *,
              device: str = "", pairs: list[tuple[int, int]] | None = None,
              a_info: Sequence[DS.RunInfo] | None = None, b_info: Sequence[DS.RunInfo] | None = None) -> NoisyRow:
    """A noisy row from run estimates made elsewhere (the statistics simulation drives the decision here);
    runs without ``*_info`` are named a0, a1, ... and b0, b1, ... (one run id per run of the comparison)."""
    row = Row(workload=key[0], precision=key[1], backend=key[2], device=device, device_fingerprint=key[3],
              metric=key[4], unit=None, kind="noisy", verdict=Verdict.INCONCLUSIVE, runs_a=len(a), runs_b=len(b),
              n_a=sum(e.n for e in a), n_b=sum(e.n for e in b), delta=th.delta, higher_is_better=th.higher_is_better)
    return NoisyRow(row, key, list(a), list(b), th, pairs,
                    a_info=list(a_info) if a_info is not None else [DS.RunInfo(f"a{i}") for i in range(len(a))],
                    b_info=list(b_info) if b_info is not None else [DS.RunInfo(f"b{i}") for i in range(len(b))])


def _logs(item: NoisyRow) -> tuple[list[float], list[float]]:
    return [e.log_median for e in item.a], [e.log_median for e in item.b]


def _difference(item: NoisyRow, priors: Priors, a: list[float] | None = None, b: list[float] | None = None,
                noise: N.RunNoise | None = None) -> tuple[S.Difference, N.RunNoise]:
    """B - A of these log run medians (the row's own unless given); σ_run from the runs when they can
    estimate it, else ``noise`` (a prior already checked) or the row's prior."""
    if a is None or b is None:
        a, b = _logs(item)
    sa = [e.se for e in item.a]
    sb = [e.se for e in item.b]
    if item.pairs is not None:
        a = [a[i] for i, _ in item.pairs]
        sa = [sa[i] for i, _ in item.pairs]
        b = [b[j] for _, j in item.pairs]
        sb = [sb[j] for _, j in item.pairs]
        if len(item.pairs) >= MIN_PAIRED_ROUNDS:
            diff = S.paired(a, b, sa, sb)
            return diff, N.RunNoise(diff.sigma_run, diff.df, "estimated", len(item.pairs), "paired by round")
    else:
        if len(a) >= 2 and len(b) >= 2 and len(a) + len(b) - 2 >= MIN_ESTIMATE_DF:
            diff = S.pooled(a, b, sa, sb)
            return diff, N.RunNoise(diff.sigma_run, diff.df, "estimated", len(a) + len(b),
                                    "pooled over the runs given")
        if max(len(a), len(b)) - 1 >= MIN_ESTIMATE_DF:
            diff = S.one_sided_pool(a, b, sa, sb)
            return diff, N.RunNoise(diff.sigma_run, diff.df, "estimated", max(len(a), len(b)),
                                    "from the side with several runs")
    noise = noise or (priors.calibrated.get(item.key) or priors.history.get(item.key)
                      or N.assumed(math.log1p(item.th.run_noise)))
    return S.known_sigma(a, b, sa, sb, noise.sigma, noise.df, is_paired=item.pairs is not None), noise


def _single(item: NoisyRow) -> bool:
    """Judged with a single run on a side: that run's offset is one draw whose tail nothing measured."""
    assert item.noise is not None
    if item.pairs is not None:
        return item.noise.source != "estimated"
    return item.noise.source != "estimated" or min(len(item.a), len(item.b)) < 2


def _heavy(diff: S.Difference) -> S.Difference:
    """The difference referred to Student t with at most TAIL_DF degrees of freedom: a single run per side
    is one draw of a run offset as heavy-tailed as devices show, which no σ_run estimate makes normal. Its
    verdict (``_guard``), its interval and its equivalence all use this tail: a 10-run calibration under
    Student-t (3 dof) offsets covered the truth in 89.8 % of rows at its own degrees of freedom."""
    return S.Difference(diff.d, diff.se, min(diff.df, TAIL_DF), diff.var_run, diff.sigma_run)


def _guard(item: NoisyRow, diff: S.Difference) -> S.Difference:
    """The difference a single-run row must clear to be REGRESSED or IMPROVED: referred to Student t
    with TAIL_DF degrees of freedom (run offsets as heavy-tailed as devices show), and, when nothing
    measured σ_run and no thresholds file declared it, at σ_run SINGLE_RUN_GUARD at least."""
    assert item.noise is not None
    df = _heavy(diff).df
    if item.noise.source == "assumed" and not item.th.run_noise_declared:
        sigma = max(item.noise.sigma, math.log1p(SINGLE_RUN_GUARD))
        if sigma > item.noise.sigma:
            grow = math.sqrt(max(0.0, diff.se**2 + 2.0 * (sigma**2 - item.noise.sigma**2) / max(1, len(item.a))))
            return S.Difference(diff.d, grow, df, diff.var_run, diff.sigma_run)
    return S.Difference(diff.d, diff.se, df, diff.var_run, diff.sigma_run)


def _device_key(item: NoisyRow) -> tuple[str, str]:
    return item.row.device, item.row.device_fingerprint


def _orientation(item: NoisyRow) -> int:
    return -1 if item.th.higher_is_better else 1


def _set_aside_throttled(pending: Sequence[NoisyRow]) -> None:
    """Per device, the runs with throttling evidence are set aside from every row of the device (and so
    from its common shift) where ``throttled_runs.decide`` says so; rows say which, and why. Paired rows
    (``ab``) keep their rounds whole."""
    groups: dict[tuple[str, str], list[NoisyRow]] = {}
    for it in pending:
        if it.pairs is None and len(it.a_info) == len(it.a) and len(it.b_info) == len(it.b):
            groups.setdefault(_device_key(it), []).append(it)
    for (device, _), items in groups.items():
        if not any(i.throttled for it in items for i in (*it.a_info, *it.b_info)):
            continue
        levels = DS.run_levels(_shift_rows(items))  # for a hot run the probes missed (throttled_runs.missed)
        decision = TR.decide(device, [(i.run_id, (i.flag or THROTTLED) if i.throttled else None)
                                      for it in items for i in it.a_info],
                             [(i.run_id, (i.flag or THROTTLED) if i.throttled else None)
                              for it in items for i in it.b_info],
                             levels=None if levels is None else {**{("A", r): v for r, v in levels.a.items()},
                                                                 **{("B", r): v for r, v in levels.b.items()}})
        drop = decision.run_ids
        for it in items:
            it.throttle = decision
            keep_a = [j for j, i in enumerate(it.a_info) if i.run_id not in drop["A"]]
            keep_b = [j for j, i in enumerate(it.b_info) if i.run_id not in drop["B"]]
            if keep_a and keep_b and (len(keep_a) < len(it.a) or len(keep_b) < len(it.b)):
                if decision.missed is not None:  # the row's interval spans both readings (_decide)
                    back = decision.missed
                    it.missed_back = ([e for e, i in zip(it.a, it.a_info, strict=True)
                                       if i.run_id not in drop["A"] or (back.side == "A" and i.run_id == back.run_id)],
                                      [e for e, i in zip(it.b, it.b_info, strict=True)
                                       if i.run_id not in drop["B"] or (back.side == "B" and i.run_id == back.run_id)])
                it.a, it.a_info = [it.a[j] for j in keep_a], [it.a_info[j] for j in keep_a]
                it.b, it.b_info = [it.b[j] for j in keep_b], [it.b_info[j] for j in keep_b]
                it.row.runs_a, it.row.runs_b = len(it.a), len(it.b)
                it.row.n_a, it.row.n_b = sum(e.n for e in it.a), sum(e.n for e in it.b)
            if decision.sentence:
                it.row.notes.append(decision.sentence)


def _check_priors(pending: Sequence[NoisyRow]) -> None:
    """A calibration, history or assumed σ_run checked against the rows at hand: per device, each row's
    B - A (less the device's median change) over the standard error the prior gives it has unit
    variance when the prior holds; a variance-ratio test that says it is larger replaces the prior by
    the larger observed σ_run, and the rows say so."""
    groups: dict[tuple[str, str], list[NoisyRow]] = {}
    for it in pending:
        if it.noise is not None and it.noise.source != "estimated":
            groups.setdefault(_device_key(it), []).append(it)
    for items in groups.values():
        d = np.array([_orientation(it) * it.diff.d for it in items])  # type: ignore[union-attr]
        se = np.array([it.diff.se for it in items])  # type: ignore[union-attr]
        z = (d - np.median(d)) / np.where(se > 0, se, np.nan)
        prior_df = float(np.median([it.noise.df for it in items]))  # type: ignore[union-attr]
        st = N.variance_ratio(z, prior_df)
        for it in items:
            it.checked = st is not None
        if st is None or not st.stale:
            continue
        for it in items:
            old = it.noise
            assert old is not None and it.diff is not None
            within = max(0.0, it.diff.var_run - old.sigma**2)
            sigma = math.sqrt(max(old.sigma**2, st.ratio * (old.sigma**2 + within) - within))
            what = {"calibrated": "calibration", "history": "history", "assumed": "assumed run-to-run noise"}
            when = f" on {old.date}" if old.date else ""
            note = (f"{what.get(old.source, old.source)} stale (observed {N.as_percent(sigma):.1f} %, "
                    f"{old.source} {N.as_percent(old.sigma):.1f} %{when}; variance ratio {st.ratio:.1f} over "
                    f"{st.rows} rows, p {st.p:.2g}): the larger is used")
            it.noise = N.RunNoise(sigma, st.df, old.source, old.runs, note, old.date)
            it.diff, _ = _difference(it, Priors(), noise=it.noise)
            it.row.notes.append(note)


def _floor_one_sided(pending: Sequence[NoisyRow]) -> None:
    """Rows with several runs on one side and one on the other estimate σ_run from the one side alone:
    a few heavy-tailed runs can make it tiny while the single run is far out. Per device, no such row
    takes a σ_run below the median of theirs (a device's rows share its noise)."""
    groups: dict[tuple[str, str], list[NoisyRow]] = {}
    for it in pending:
        if it.noise is not None and it.noise.source == "estimated" and it.pairs is None and _single(it):
            groups.setdefault(_device_key(it), []).append(it)
    for items in groups.values():
        if len(items) < N.MIN_STALE_ROWS:
            continue
        floor = float(np.median([it.diff.var_run for it in items]))  # type: ignore[union-attr]
        for it in items:
            d = it.diff
            assert d is not None and it.noise is not None
            if 0 < d.var_run < floor:
                grow = math.sqrt(floor / d.var_run)
                it.diff = S.Difference(d.d, d.se * grow, d.df, floor, math.sqrt(max(0.0, d.sigma_run**2 + floor
                                                                                       - d.var_run)))
                it.noise = N.RunNoise(it.diff.sigma_run, it.noise.df, "estimated", it.noise.runs,
                                      it.noise.detail + f"; raised to the median of the device's {len(items)} rows")


@dataclass
class Shift:
    """The common shift of every row of one device (analysis.device_shift), judged once."""

    device: str
    device_fingerprint: str
    rows: int
    runs_a: int
    runs_b: int
    verdict: Verdict
    reason: str
    explanation: str
    ratio: float  # B/A of the device's run level, as time (> 1: B slower)
    ci_low: float
    ci_high: float
    p: float
    mde: float
    sigma_run: float
    sigma_source: str
    applied: bool  # significant: the rows say they were judged relative to it

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict.value
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}

    @property
    def sentence(self) -> str:
        word = "slower" if self.ratio >= 1 else "faster"
        return (f"{self.device}: every row ({self.rows}) is {abs(self.ratio - 1):.1%} {word} in B as one "
                f"(95 % CI {self.ci_low:.3f}–{self.ci_high:.3f}, {self.runs_a}/{self.runs_b} runs, run-level σ "
                f"{N.as_percent(self.sigma_run) or 0.0:.1f} % {self.sigma_source}): {self.verdict.value} — "
                f"{self.reason}; {self.explanation}")


def _shift_rows(items: Sequence[NoisyRow]) -> list[DS.ShiftRow]:
    return [DS.ShiftRow([e.log_median for e in it.a], [e.log_median for e in it.b], [i.run_id for i in it.a_info],
                        [i.run_id for i in it.b_info], _orientation(it)) for it in items]


def _device_shifts(pending: Sequence[NoisyRow], contention_threshold: float) -> list[Shift]:
    """Per device with MIN_SHIFT_ROWS rows or more: the common shift, judged once, and, when the shift is
    significant or the runs' levels show offsets shared by the device's rows, each row's change relative
    to its runs' levels (``rel_diff``: a run offset shared by the device's rows is not the row's). Rows say
    so when the shift is significant (``applied``)."""
    groups: dict[tuple[str, str], list[NoisyRow]] = {}
    for it in pending:
        if it.pairs is None and len(it.a_info) == len(it.a) and len(it.b_info) == len(it.b):
            groups.setdefault(_device_key(it), []).append(it)
    tested = [(key, items, rows, levels) for key, items in sorted(groups.items())
              for rows in [_shift_rows(items)] for levels in [DS.run_levels(rows)] if levels is not None]
    out = []
    for (device, fp), items, rows, levels in tested:
        th = items[0].th
        alpha = th.alpha * SHIFT_SHARE / len(tested)  # the shifts' share of the family's α, per device
        la, lb = list(levels.a.values()), list(levels.b.values())
        za, zb = [0.0] * len(la), [0.0] * len(lb)
        if len(la) >= 2 and len(lb) >= 2 and len(la) + len(lb) - 2 >= MIN_ESTIMATE_DF:
            diff, source, single = S.pooled(la, lb, za, zb), "estimated", False
        elif max(len(la), len(lb)) - 1 >= MIN_ESTIMATE_DF:
            diff, source, single = S.one_sided_pool(la, lb, za, zb), "estimated", True
        else:
            noises = [it.noise for it in items if it.noise is not None]
            sigma = float(np.median([n.sigma for n in noises]))
            source = noises[0].source if len({n.source for n in noises}) == 1 else "mixed"
            diff = S.known_sigma(la, lb, za, zb, sigma, float(np.median([n.df for n in noises])))
            single = True
        if single:
            assumed_only = source == "assumed" and not th.run_noise_declared
            sigma_g = max(math.sqrt(diff.var_run), math.log1p(SINGLE_RUN_GUARD)) if assumed_only else \
                math.sqrt(diff.var_run)
            guard = S.Difference(diff.d, diff.se * sigma_g / max(math.sqrt(diff.var_run), 1e-12), min(diff.df, TAIL_DF),
                                 diff.var_run, diff.sigma_run)
        else:
            guard = diff
        test, gtest = S.t_test(diff, alpha, bound=math.log1p(th.delta)), S.t_test(guard, alpha,
                                                                                  bound=math.log1p(th.delta))
        info_a = [i for it in items for i in it.a_info]
        info_b = [i for it in items for i in it.b_info]
        ev = DS.evidence(info_a, info_b)
        device_explains, explanation = DS.explain(ev, diff.d > 0, contention_threshold)
        if items[0].throttle is not None and items[0].throttle.set_aside:
            explanation += f"; {len(items[0].throttle.set_aside)} throttled run(s) set aside before judging"
        bound = math.log1p(th.delta)
        span = S.t_test(_heavy(diff), alpha) if single else test  # its interval: as the rows' (_heavy)
        verdict, reason = _shift_verdict(diff, test, gtest, span, bound, single, alpha)
        if verdict in (Verdict.REGRESSED, Verdict.IMPROVED, Verdict.SUSPECTED) and \
                DS.contention_differs(ev, contention_threshold):
            verdict, reason = _survives_contention(diff if not single else guard, alpha, 1, bound, ev, verdict,
                                                   reason, slower_in_b=diff.d > 0)
        applied = test.p < alpha
        shift = Shift(device, fp, len(items), len(la), len(lb), verdict, reason, explanation, math.exp(diff.d),
                      math.exp(span.low), math.exp(span.high), test.p, _fraction(gtest.mde),
                      diff.sigma_run if source == "estimated" else math.sqrt(diff.var_run), source, applied)
        if device_explains and verdict is Verdict.REGRESSED:
            shift.reason += " (though the probes favour the device, the change survives what they can explain)"
        out.append(shift)
        if not (applied or DS.shared_offsets(la, lb, [it.diff.var_run for it in items if it.diff is not None])):
            continue  # the runs' levels vary no more than independent rows make them: nothing to take out
        for it, r in zip(items, rows, strict=True):  # every row judged on what is its own
            a, b = DS.relative(r, levels)
            it.rel_diff, _ = _difference(it, Priors(), a, b, noise=it.noise if _single(it) else None)
            if applied:
                it.shift = math.expm1(r.orientation * diff.d)
    return out


def _shift_verdict(diff: S.Difference, test: S.TTest, gtest: S.TTest, span: S.TTest, bound: float, single: bool,
                   alpha: float) -> tuple[Verdict, str]:
    word = f"{_pct(diff.d)} as time"
    if gtest.p < alpha and abs(diff.d) >= bound:
        return (Verdict.REGRESSED if diff.d > 0 else Verdict.IMPROVED), f"{word}, beyond ±{_pct(bound)[1:]} (p {gtest.p:.2g})"
    if single and test.p < alpha and abs(diff.d) >= bound:
        return Verdict.SUSPECTED, f"{word}, beyond ±{_pct(bound)[1:]} (p {test.p:.2g}) on a single run per side"
    if -bound < span.low and span.high < bound:
        return Verdict.UNCHANGED, f"95 % CI {_pct(span.low)} to {_pct(span.high)} inside ±{_pct(bound)[1:]}"
    return Verdict.INCONCLUSIVE, f"95 % CI {_pct(span.low)} to {_pct(span.high)}"


def _survives_contention(diff: S.Difference, alpha: float, tests: int, bound: float, ev: DS.Evidence,
                         verdict: Verdict, reason: str, slower_in_b: bool) -> tuple[Verdict, str]:
    """A change between sides that differ in contention stands only beyond the most the contention
    difference can explain (``device_shift.contention_bound``); otherwise INCONCLUSIVE, saying why."""
    most = DS.contention_bound(ev, slower_in_b)
    cores = f"A {ev.cores_a or 0.0:.2f}, B {ev.cores_b or 0.0:.2f} cores"
    if most is not None:
        left = max(0.0, abs(diff.d) - most)
        p = 2.0 * S.survival(left / diff.se, diff.df) if diff.se > 0 else (0.0 if left else 1.0)
        if min(1.0, p * max(1, tests)) < alpha and left >= bound:
            return verdict, (f"{reason}; the sides differ in contention ({cores}) and it survives the most that "
                             f"can explain (×{math.exp(most):.2f} on {ev.cpu_count} cores)")
    limit = f" (at most ×{math.exp(most):.2f} on {ev.cpu_count} cores)" if most is not None else ""
    return Verdict.INCONCLUSIVE, (f"the sides differ in contention ({cores}): {verdict.value.lower()} on that evidence "
                                  f"only ({reason}){limit}; runs on a quiet device would decide it")


def judge_noisy(pending: Sequence[NoisyRow], priors: Priors, *,
                contention_threshold: float = CONTENTION_CORES) -> list[Shift]:
    """Judge these rows together (Holm across them): fills each row's verdict, numbers and evidence, and
    returns each device's common shift."""
    _set_aside_throttled(pending)
    for item in pending:
        item.diff, item.noise = _difference(item, priors)
    _check_priors(pending)
    _floor_one_sided(pending)
    shifts = _device_shifts(pending, contention_threshold)
    m = len(pending)
    share = rows_share(shifts)
    family = math.ceil(m / share - 1e-9) if m else 0  # Holm at α x share over m rows: as many tests as this
    judged = [item.rel_diff or item.diff for item in pending]
    tests = [S.t_test(d, item.th.alpha, tests=family, bound=math.log1p(item.th.delta))  # type: ignore[arg-type]
             for item, d in zip(pending, judged, strict=True)]
    guards = [S.t_test(_guard(item, d), item.th.alpha, tests=family, bound=math.log1p(item.th.delta))  # type: ignore[arg-type]
              if _single(item) else t for item, d, t in zip(pending, judged, tests, strict=True)]
    adjusted = np.minimum(1.0, S.holm([t.p for t in tests]) / share)
    decisive = np.minimum(1.0, S.holm([g.p for g in guards]) / share)
    for item, test, guard, p_adj, p_dec in zip(pending, tests, guards, adjusted, decisive, strict=True):
        _decide(item, test, guard, float(p_adj), float(p_dec), family, contention_threshold)
    return shifts


def rows_share(shifts: Sequence[Shift]) -> float:
    """The rows' share of the family's α: all of it with no common shift tested; else 1 - SHIFT_SHARE,
    plus the share of each shift found significant (weighted Holm: a rejected test passes its α on)."""
    if not shifts:
        return 1.0
    return 1.0 - SHIFT_SHARE * sum(not sh.applied for sh in shifts) / len(shifts)


def _ratio(log_ratio: float) -> float:
    """exp, inf past what a float holds (a side of samples near 0 against one near 1e308)."""
    return math.exp(log_ratio) if log_ratio < 700.0 else math.inf


def _fraction(log_effect: float) -> float:
    """A log-scale effect as a fraction (inf past what a float holds: an MDE no run count reaches)."""
    return math.expm1(log_effect) if log_effect < 700.0 else math.inf


def _pct(x: float) -> str:
    return f"{N.as_percent(x):+.1f} %"


def _decide(item: NoisyRow, test: S.TTest, guard: S.TTest, p_holm: float, p_decisive: float, tests: int,
            contention_threshold: float) -> None:
    row, th, noise = item.row, item.th, item.noise
    p_raw = test.p
    raw = item.diff
    diff = item.rel_diff or raw
    assert diff is not None and raw is not None and noise is not None
    raw_test = S.t_test(raw, th.alpha, tests=tests, bound=math.log1p(th.delta)) if item.rel_diff else test
    single = _single(item)
    if single:  # the interval (and equivalence) on the tail the verdict assumes for one run's offset
        test = S.t_test(_heavy(diff), th.alpha, tests=tests, bound=math.log1p(th.delta))
        raw_test = S.t_test(_heavy(raw), th.alpha, tests=tests, bound=math.log1p(th.delta))
    if item.missed_back is not None:
        test, raw_test = _with_missed_back(item, test, raw_test, single, tests)
    a_mean = float(np.mean([e.log_median for e in item.a]))
    row.a, row.b = math.exp(a_mean), math.exp(a_mean + raw.d)
    row.ratio, row.ci_low, row.ci_high = _ratio(raw.d), _ratio(raw_test.low), _ratio(raw_test.high)
    row.p, row.p_holm = p_raw, p_holm
    row.sigma_run, row.sigma_source = math.expm1(noise.sigma), noise.source
    row.sigma_df = noise.df if math.isfinite(noise.df) else None
    row.sigma_detail = noise.detail or None
    if noise.source in ("calibrated", "history"):
        row.sigma_runs, row.sigma_date = noise.runs or None, noise.date or None
    row.sigma_stale = "stale" in noise.detail
    row.mde = _fraction(guard.mde)
    row.paired = item.pairs is not None
    row.shift = item.shift
    bound = math.log1p(th.delta)
    row.runs_for_delta = S.runs_to_detect(diff.var_run, bound, alpha=th.alpha, paired=row.paired)
    bad = diff.d < 0 if th.higher_is_better else diff.d > 0
    unit = "rounds" if row.paired else "runs per side"
    have = len(item.pairs) if item.pairs is not None else max(row.runs_a, row.runs_b)
    rel = (f"relative to {row.device or 'the device'}'s common shift ({_pct(math.log1p(item.shift))}): "
           if item.shift is not None else "")
    if p_decisive < th.alpha and abs(diff.d) >= bound:
        row.verdict = Verdict.REGRESSED if bad else Verdict.IMPROVED
        row.reason = f"{rel}{_pct(diff.d)}, beyond ±{th.delta:.0%} (Holm p {p_decisive:.2g})"
    elif single and p_holm < th.alpha and abs(diff.d) >= bound:
        row.verdict = Verdict.SUSPECTED
        row.runs_needed = S.runs_needed(diff, bound=bound, alpha=th.alpha, tests=tests, have=max(1, have),
                                        is_paired=row.paired)
        need = (f"about {row.runs_needed} {unit} would decide it" if row.runs_needed
                else f"more than {S.MAX_RUNS_NEEDED} {unit} would decide it")
        row.reason = (f"{rel}{_pct(diff.d)}, beyond ±{th.delta:.0%} (Holm p {p_holm:.2g}) with a single run on a "
                      f"side: one run cannot be told from a bad run; {need}")
    elif -bound < test.low and test.high < bound:
        row.verdict = Verdict.UNCHANGED
        row.reason = f"{rel}95 % CI {_pct(test.low)} to {_pct(test.high)} inside ±{th.delta:.0%}"
    else:
        row.verdict = Verdict.INCONCLUSIVE
        row.runs_needed = S.runs_needed(diff, bound=bound, alpha=th.alpha, tests=tests, have=have,
                                        is_paired=row.paired)
        where = (f"95 % CI {_pct(test.low)} to {_pct(test.high)} crosses ±{th.delta:.0%}"
                 if not (p_holm < th.alpha) else f"{_pct(diff.d)} is significant but within ±{th.delta:.0%}")
        if row.runs_needed is not None:
            more = row.runs_needed - have
            row.reason = f"{rel}{where}: about {row.runs_needed} {unit} ({more} more) would decide it"
        else:
            row.reason = f"{rel}{where}: it sits at the ±{th.delta:.0%} edge (more than {S.MAX_RUNS_NEEDED} {unit})"
    if row.verdict in (Verdict.REGRESSED, Verdict.IMPROVED, Verdict.SUSPECTED):
        _contention_rule(item, guard if single else test, tests, contention_threshold)
    if noise.source == "assumed" and not any("stale" in n for n in row.notes):
        row.notes.append(f"run-to-run noise assumed {100 * th.run_noise:.0f} % (no runs, calibration or history "
                         "to estimate it)" + ("" if th.run_noise_declared else
                                              f"; REGRESSED needs the change beyond σ_run {SINGLE_RUN_GUARD:.0%}"))
    elif noise.source in ("calibrated", "history") and not item.checked:
        row.notes.append(f"σ_run {noise.source} ({noise.detail}), not checked against the runs at hand "
                         f"(fewer than {N.MIN_STALE_ROWS} rows on the device judged with it)")


def _with_missed_back(item: NoisyRow, test: S.TTest, raw_test: S.TTest, single: bool,
                      tests: int) -> tuple[S.TTest, S.TTest]:
    """A run taken for a missed flag was chosen on its value: the verdict's test goes without it, but the
    row's interval (and so UNCHANGED) spans the intervals without it and with it put back — a choice made
    on values does not narrow what the row claims. Measured: A/A coverage with thermal offsets shared,
    5 v 5, fell from 92.9 to 89.7 % with the interval without it alone."""
    assert item.missed_back is not None
    sub = NoisyRow(item.row, item.key, item.missed_back[0], item.missed_back[1], item.th, None)
    back, _ = _difference(sub, Priors(), noise=item.noise)
    bt = S.t_test(_heavy(back) if single else back, item.th.alpha, tests=tests, bound=math.log1p(item.th.delta))

    def hull(t: S.TTest) -> S.TTest:
        return S.TTest(t.p, min(t.low, bt.low), max(t.high, bt.high), t.mde)

    return (hull(test) if item.rel_diff is None else test), hull(raw_test)  # relative to a shift: its own


def _contention_rule(item: NoisyRow, test: S.TTest, tests: int, threshold: float) -> None:
    """A REGRESSED or IMPROVED row whose sides differ in contention beyond the threshold keeps its
    verdict only if it survives the quiet runs alone, or the most the contention can explain."""
    ev = DS.evidence(item.a_info, item.b_info)
    if not DS.contention_differs(ev, threshold):
        return
    row, th = item.row, item.th
    bound = math.log1p(th.delta)
    quiet_a = [i for i, r in enumerate(item.a_info) if r.cores is None or r.cores <= threshold]
    quiet_b = [i for i, r in enumerate(item.b_info) if r.cores is None or r.cores <= threshold]
    if quiet_a and quiet_b and (len(quiet_a) < len(item.a) or len(quiet_b) < len(item.b)) and item.pairs is None:
        sub = NoisyRow(row, item.key, [item.a[i] for i in quiet_a], [item.b[i] for i in quiet_b], th, None,
                       a_info=[item.a_info[i] for i in quiet_a], b_info=[item.b_info[i] for i in quiet_b])
        sub.diff, sub.noise = _difference(sub, Priors(), noise=item.noise)
        g = _guard(sub, sub.diff) if _single(sub) else sub.diff
        p = min(1.0, S.t_test(g, th.alpha).p * max(1, tests))
        if p < th.alpha and abs(sub.diff.d) >= bound and (sub.diff.d > 0) == (item.diff.d > 0):  # type: ignore[union-attr]
            row.notes.append(f"the sides differ in contention; the change survives the quiet runs alone "
                             f"({len(quiet_a)}/{len(quiet_b)} runs, {_pct(sub.diff.d)}, p {p:.2g})")
            return
    judged = item.rel_diff or item.diff
    assert judged is not None
    g = _guard(item, judged) if _single(item) else judged
    verdict, reason = _survives_contention(g, th.alpha, tests, bound, ev, row.verdict, row.reason,
                                           slower_in_b=(judged.d > 0) != th.higher_is_better)
    if verdict is row.verdict:
        row.reason = reason
        return
    row.verdict, row.reason = verdict, reason
    row.runs_needed = None


# ---------------------------------------------------------------------------- one side only
def _one_side_rows(moved: list[tuple[GroupKey, str]], failed: list[FailedCell], ga: Mapping[GroupKey, Runs]) -> list[Row]:
    """The findings among rows on one side only (``compare_unmatched`` sorts them): a device whose
    fingerprint moved (INCOMPARABLE per metric) and cells measured in A that failed in B (FAILED)."""
    rows: list[Row] = []
    for key, fp_b in moved:
        g = ga[key]
        rows.append(Row(workload=key[0], precision=key[1], backend=key[2], device=key[5], device_fingerprint=key[3],
                        metric=key[4], unit=_first(g, "unit"), kind=str(_first(g, "kind") or ""),
                        verdict=Verdict.INCOMPARABLE, reason=f"device fingerprint differs ({key[3]} vs {fp_b})",
                        a=_side_value(_measured(g)), runs_a=_run_count(_measured(g))))
    for cell in failed:
        key, g = cell.key, cell.runs
        rows.append(Row(workload=key[0], precision=key[1], backend=key[2], device=key[5], device_fingerprint=key[3],
                        metric=key[4], unit=_first(g, "unit"), kind=str(_first(g, "kind") or ""),
                        verdict=Verdict.FAILED, reason=cell.reason, a=_side_value(g), runs_a=_run_count(g)))
    return rows


def _summary_notes(cmp: Comparison, paired: bool) -> None:
    cmp.notes += [t.sentence for t in cmp.throttled if t.sentence]
    for sh in cmp.shifts:
        if sh.applied or sh.verdict is not Verdict.UNCHANGED:
            cmp.notes.append("common shift: " + sh.sentence + ("; rows judged relative to it" if sh.applied else ""))
    suspected = [r for r in cmp.rows if r.verdict is Verdict.SUSPECTED]
    if suspected:
        cmp.notes.append(f"{len(suspected)} row(s) SUSPECTED: a change beyond ±δ seen with a single run on a side "
                         "(exit 0, 3 under --strict); more runs per side decide them")
    noisy = [r for r in cmp.rows if r.sigma_source]
    if not noisy:
        return
    by_source: dict[str, int] = {}
    for r in noisy:
        by_source[r.sigma_source or ""] = by_source.get(r.sigma_source or "", 0) + 1
    parts = ", ".join(f"{n} {src}" for src, n in sorted(by_source.items(), key=lambda kv: N.SOURCES.index(kv[0])))
    cmp.notes.append(f"run-to-run noise (σ_run) per row: {parts}"
                     + ("; rounds paired A B B A" if paired and any(r.paired for r in noisy) else ""))
    assumed = [r for r in noisy if r.sigma_source == "assumed"]
    if assumed:
        pcts = sorted({f"{100 * (r.sigma_run or 0.0):.0f} %" for r in assumed})
        cmp.notes.append(f"run-to-run noise assumed {', '.join(pcts)} for {len(assumed)} row(s): give several runs "
                         "per side, run `harness calibrate` on the device, or declare run_noise in --thresholds")
