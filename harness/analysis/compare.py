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

from harness.analysis import noise as N
from harness.analysis import stats as S
from harness.analysis.compare_unmatched import FailedCell, OneSided, unmatched
from harness.analysis.thresholds import Threshold, Thresholds
from harness.analysis.within_run import RunEstimate, estimate_from_quartiles, estimate_run, sample_problem
from harness.records import CELL_KEY, MEASURED, ROW_KEY, Side

__all__ = ["CELL_KEY", "ROW_KEY", "MEASURED", "Side", "Verdict", "Row", "Comparison", "Priors", "NoisyRow", "compare",
           "judge_noisy", "method_definition", "noisy_row"]

MIN_ESTIMATE_DF = 2  # the runs given estimate σ_run from this many degrees of freedom on
MIN_PAIRED_ROUNDS = 3  # a paired test needs this many rounds to estimate its own variance
RowKey = tuple[str, str, str, str, str]  # ROW_KEY: what calibration and history are keyed on
GroupKey = tuple[str, str, str, str, str, str]  # ROW_KEY + device name: one row of a comparison


class Verdict(str, Enum):
    REGRESSED = "REGRESSED"
    IMPROVED = "IMPROVED"
    UNCHANGED = "UNCHANGED"
    INCONCLUSIVE = "INCONCLUSIVE"
    INCOMPARABLE = "INCOMPARABLE"
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
    mde: float | None = None  # minimum detectable effect at this noise and these runs, as a fraction
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
    one_sided: list[OneSided] = field(default_factory=list)  # not compared: listed, no verdict

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for r in self.rows:
            out[r.verdict.value] += 1
        return out

    def exit_code(self, strict: bool = False) -> int:
        """0 no regression, 1 regression or a cell that failed in B, 2 incomparable rows (or, under --strict,
        cells or metrics on one side only), 3 inconclusive rows under --strict."""
        verdicts = {r.verdict for r in self.rows}
        if Verdict.REGRESSED in verdicts or Verdict.FAILED in verdicts:
            return 1
        if Verdict.INCOMPARABLE in verdicts or (strict and self.one_sided):
            return 2
        if strict and Verdict.INCONCLUSIVE in verdicts:
            return 3
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": self.a_label,
            "b": self.b_label,
            "counts": self.counts(),
            "notes": list(self.notes),
            "rows": [r.to_dict() for r in self.rows],
            "one_sided": [o.to_dict() for o in self.one_sided],
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
    judge_noisy(pending, priors)
    lone = unmatched(ga, gb, fails_a, fails_b)
    rows += _one_side_rows(lone.fingerprint_moved, lone.failed, ga)
    rows.sort(key=lambda r: (r.device, r.workload, r.precision, r.backend, r.metric))
    cmp = Comparison(a.label, b.label, rows, one_sided=lone.one_sided)
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


def _run_estimates(side: str, m: Runs) -> list[tuple[Any, RunEstimate]] | str:
    """(round, estimate) per measured run of one side, or why a run cannot be judged."""
    out: list[tuple[Any, RunEstimate]] = []
    for rec in m:
        where = f"{side} run {rec['run_id']}"
        raw = rec.get("samples")
        if raw is not None and not (isinstance(raw, float) and math.isnan(raw)):
            x = np.asarray(raw, dtype=float)
            problem = sample_problem(x)
            if problem:
                return f"{where}: {problem}"
            out.append((rec.get("round"), estimate_run(x)))
            continue
        st = rec.get("stats") if isinstance(rec.get("stats"), Mapping) else None
        est = None
        if st:
            est = estimate_from_quartiles(_float(st.get("median")), _float_or_none(st.get("q1")),
                                          _float_or_none(st.get("q3")), int(_float(st.get("n"), 0.0)))
        if est is None:
            return f"{where}: no raw samples" + (" and no usable median, quartiles and count" if st else "")
        out.append((rec.get("round"), est))
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
    row.n_a, row.n_b = sum(e.n for _, e in ea), sum(e.n for _, e in eb)
    pairs = None
    if paired:
        ia = {r: i for i, (r, _) in enumerate(ea) if r is not None}
        pairs = [(ia[r], j) for j, (r, _) in enumerate(eb) if r is not None and r in ia]
        if not pairs:
            row.notes.append("no rounds in common: judged unpaired")
            pairs = None
    auto = [e for _, e in ea + eb if e.autocorrelated]
    if auto:
        worst = max(e.lag1 or 0.0 for e in auto)
        row.notes.append(f"autocorrelated samples in {len(auto)} run(s) (lag-1 up to {worst:.2f}): "
                         "within-run error from block medians")
    return NoisyRow(row, (row.workload, row.precision, row.backend, row.device_fingerprint, row.metric),
                  [e for _, e in ea], [e for _, e in eb], th, pairs)


def noisy_row(key: RowKey, th: Threshold, a: Sequence[RunEstimate], b: Sequence[RunEstimate], *,
              device: str = "", pairs: list[tuple[int, int]] | None = None) -> NoisyRow:
    """A noisy row from run estimates made elsewhere (the statistics simulation drives the decision here)."""
    row = Row(workload=key[0], precision=key[1], backend=key[2], device=device, device_fingerprint=key[3],
              metric=key[4], unit=None, kind="noisy", verdict=Verdict.INCONCLUSIVE, runs_a=len(a), runs_b=len(b),
              n_a=sum(e.n for e in a), n_b=sum(e.n for e in b), delta=th.delta, higher_is_better=th.higher_is_better)
    return NoisyRow(row, key, list(a), list(b), th, pairs)


def _difference(item: NoisyRow, priors: Priors) -> tuple[S.Difference, N.RunNoise]:
    a = [e.log_median for e in item.a]
    b = [e.log_median for e in item.b]
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
            diff = S.welch(a, b, sa, sb)
            return diff, N.RunNoise(diff.sigma_run, diff.df, "estimated", len(a) + len(b), "Welch on the runs given")
        if max(len(a), len(b)) - 1 >= MIN_ESTIMATE_DF:
            diff = S.one_sided_pool(a, b, sa, sb)
            return diff, N.RunNoise(diff.sigma_run, diff.df, "estimated", max(len(a), len(b)),
                                    "from the side with several runs")
    noise = (priors.calibrated.get(item.key) or priors.history.get(item.key)
             or N.assumed(math.log1p(item.th.run_noise)))
    return S.known_sigma(a, b, sa, sb, noise.sigma, noise.df, is_paired=item.pairs is not None), noise


def judge_noisy(pending: Sequence[NoisyRow], priors: Priors) -> None:
    """Judge these rows together (Holm across them): fills each row's verdict, numbers and evidence."""
    tests: list[S.TTest] = []
    for item in pending:
        item.diff, item.noise = _difference(item, priors)
        tests.append(S.t_test(item.diff, item.th.alpha))
    adjusted = S.holm([t.p for t in tests])
    for item, test, p_adj in zip(pending, tests, adjusted, strict=True):
        _decide(item, test, float(p_adj), len(pending))


def _pct(x: float) -> str:
    return f"{N.as_percent(x):+.1f} %"


def _decide(item: NoisyRow, test: S.TTest, p_holm: float, tests: int) -> None:
    row, th, diff, noise = item.row, item.th, item.diff, item.noise
    assert diff is not None and noise is not None
    a_mean = float(np.mean([e.log_median for e in item.a]))
    row.a, row.b = math.exp(a_mean), math.exp(a_mean + diff.d)
    row.ratio, row.ci_low, row.ci_high = math.exp(diff.d), math.exp(test.low), math.exp(test.high)
    row.p, row.p_holm = test.p, p_holm
    row.sigma_run, row.sigma_source = math.expm1(noise.sigma), noise.source
    row.sigma_df = noise.df if math.isfinite(noise.df) else None
    row.mde = math.expm1(test.mde)
    row.paired = item.pairs is not None
    bound = math.log1p(th.delta)
    row.runs_for_delta = S.runs_to_detect(diff.var_run, bound, alpha=th.alpha, paired=row.paired)
    bad = diff.d < 0 if th.higher_is_better else diff.d > 0
    unit = "rounds" if row.paired else "runs per side"
    if p_holm < th.alpha and abs(diff.d) >= bound:
        row.verdict = Verdict.REGRESSED if bad else Verdict.IMPROVED
        row.reason = f"{_pct(diff.d)}, beyond ±{th.delta:.0%} (Holm p {p_holm:.2g})"
    elif -bound < test.low and test.high < bound:
        row.verdict = Verdict.UNCHANGED
        row.reason = f"95 % CI {_pct(test.low)} to {_pct(test.high)} inside ±{th.delta:.0%}"
    else:
        row.verdict = Verdict.INCONCLUSIVE
        have = len(item.pairs) if item.pairs is not None else max(row.runs_a, row.runs_b)
        row.runs_needed = S.runs_needed(diff, bound=bound, alpha=th.alpha, tests=tests, have=have,
                                        is_paired=row.paired)
        where = (f"95 % CI {_pct(test.low)} to {_pct(test.high)} crosses ±{th.delta:.0%}"
                 if not (p_holm < th.alpha) else f"{_pct(diff.d)} is significant but within ±{th.delta:.0%}")
        if row.runs_needed is not None:
            more = row.runs_needed - have
            row.reason = f"{where}: about {row.runs_needed} {unit} ({more} more) would decide it"
        else:
            row.reason = f"{where}: it sits at the ±{th.delta:.0%} edge (more than {S.MAX_RUNS_NEEDED} {unit})"
    if noise.source == "assumed":
        row.notes.append(f"run-to-run noise assumed {100 * th.run_noise:.0f} % (no runs, calibration or history "
                         "to estimate it)")


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
