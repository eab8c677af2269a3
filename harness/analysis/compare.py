"""`compare` as a pure decision: two sides in, a list of verdict rows out (no I/O, no printing).

Rows are matched on (workload, precision, backend, device fingerprint, metric). Noisy metrics:
ratio of medians B/A with a bootstrap CI, two-sided Mann-Whitney U, Holm across all rows judged
together; REGRESSED iff Holm p < alpha and the ratio is at least 1 + delta in the bad direction,
IMPROVED symmetric, UNCHANGED iff the CI lies inside [1/(1+delta), 1+delta], else INCONCLUSIVE.
Deterministic metrics: tolerances and an optional budget. INCOMPARABLE when fingerprint, artifact
hash or metric definition (unit, method) differ, a side failed, or a side is missing the row.
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

from harness.analysis.stats import holm, mann_whitney_p, median_ratio_ci
from harness.analysis.thresholds import Threshold, Thresholds

CELL_KEY = ("workload", "precision", "backend", "device_fingerprint")
ROW_KEY = (*CELL_KEY, "metric")
MEASURED = ("ok", "accuracy_fail")  # statuses whose metrics are real measurements
MIN_SAMPLES = 3

# (device_fingerprint, workload, metric) -> calibrated noise floor, as the 99th pct of |log ratio|.
Calibration = Mapping[tuple[str, str, str], float]


class Verdict(str, Enum):
    REGRESSED = "REGRESSED"
    IMPROVED = "IMPROVED"
    UNCHANGED = "UNCHANGED"
    INCONCLUSIVE = "INCONCLUSIVE"
    INCOMPARABLE = "INCOMPARABLE"


@dataclass
class Side:
    """One side of a comparison, normalised from a run, a build or a result file.

    ``metrics``: one row per (cell, metric) with ROW_KEY + device, value, unit, kind, method,
    artifact_sha256, status, error, build_id, run_id and ``samples`` (ndarray or None).
    ``cells``: one row per cell with CELL_KEY + device, status, error (failed cells have no metrics).
    """

    label: str
    metrics: pd.DataFrame
    cells: pd.DataFrame


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
    a: float | None = None  # median of samples (noisy) or the value (deterministic)
    b: float | None = None
    ratio: float | None = None  # B/A
    ci_low: float | None = None
    ci_high: float | None = None
    p: float | None = None
    p_holm: float | None = None
    n_a: int = 0
    n_b: int = 0
    delta: float | None = None
    higher_is_better: bool = False

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

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for r in self.rows:
            out[r.verdict.value] += 1
        return out

    def exit_code(self, strict: bool = False) -> int:
        """0 no regression, 1 regression, 2 incomparable rows, 3 inconclusive rows under --strict."""
        verdicts = {r.verdict for r in self.rows}
        if Verdict.REGRESSED in verdicts:
            return 1
        if Verdict.INCOMPARABLE in verdicts:
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
        }


def compare(
    a: Side,
    b: Side,
    thresholds: Thresholds | None = None,
    *,
    calibration: Calibration | None = None,
    allow_artifact_change: bool = False,
    seed: int | None = None,
) -> Comparison:
    thresholds = thresholds or Thresholds()
    calibration = calibration or {}
    am, bm = _judged(a.metrics), _judged(b.metrics)
    merged = am.merge(bm, on=list(ROW_KEY), how="outer", suffixes=("_a", "_b"), indicator=True)
    rows: list[Row] = []
    pending: list[tuple[Row, np.ndarray, np.ndarray, Threshold]] = []

    both = merged[merged["_merge"] == "both"]
    for rec in both.to_dict("records"):
        th = _threshold(thresholds, calibration, rec)
        row = _base_row(rec, th)
        reason = _incomparable_reason(rec, allow_artifact_change)
        if reason:
            row.verdict, row.reason = Verdict.INCOMPARABLE, reason
            _fill_values(row, rec)
            rows.append(row)
        elif rec["kind_a"] == "noisy":
            sa, sb = _samples(rec["samples_a"]), _samples(rec["samples_b"])
            row.n_a, row.n_b = sa.size, sb.size
            if sa.size < MIN_SAMPLES or sb.size < MIN_SAMPLES:
                _fill_values(row, rec)
                row.verdict = Verdict.INCONCLUSIVE
                row.reason = f"too few raw samples (A {sa.size}, B {sb.size}; need {MIN_SAMPLES})"
                rows.append(row)
            else:
                pending.append((row, sa, sb, th))
                rows.append(row)
        else:
            _judge_deterministic(row, rec, th)
            rows.append(row)

    _judge_noisy(pending, seed)
    rows += _unmatched(merged, a, b)
    rows.sort(key=lambda r: (r.device, r.workload, r.precision, r.backend, r.metric))
    return Comparison(a.label, b.label, rows)


# ---------------------------------------------------------------------------- pieces
def _judged(frame: pd.DataFrame) -> pd.DataFrame:
    f = frame[frame["kind"] != "info"].copy()
    f["device_fingerprint"] = f["device_fingerprint"].fillna("")
    if "samples" not in f.columns:
        f["samples"] = None
    return f


def _threshold(thresholds: Thresholds, calibration: Calibration, rec: Mapping[str, Any]) -> Threshold:
    th = thresholds.resolve(rec["workload"], rec["precision"], rec["backend"], rec["metric"])
    floor = calibration.get((rec["device_fingerprint"], rec["workload"], rec["metric"]))
    if floor is not None and math.expm1(floor) > th.delta:
        th = Threshold(**{**asdict(th), "delta": math.expm1(floor)})
    return th


def _base_row(rec: Mapping[str, Any], th: Threshold) -> Row:
    return Row(
        workload=rec["workload"],
        precision=rec["precision"],
        backend=rec["backend"],
        device=str(rec.get("device_b") or rec.get("device_a") or rec.get("device") or ""),
        device_fingerprint=rec["device_fingerprint"],
        metric=rec["metric"],
        unit=rec.get("unit_b") or rec.get("unit_a"),
        kind=str(rec.get("kind_b") or rec.get("kind_a") or ""),
        verdict=Verdict.INCONCLUSIVE,
        delta=th.delta,
        higher_is_better=th.higher_is_better,
    )


def _incomparable_reason(rec: Mapping[str, Any], allow_artifact_change: bool) -> str:
    for side in ("a", "b"):
        status = rec[f"status_{side}"]
        if status not in MEASURED:
            err = rec.get(f"error_{side}") or ""
            return f"{side.upper()} {status}" + (f": {err}" if err else "")
    if rec["kind_a"] != rec["kind_b"]:
        return f"metric kind differs ({rec['kind_a']} vs {rec['kind_b']})"
    if (rec["unit_a"] or "") != (rec["unit_b"] or ""):
        return f"unit differs ({rec['unit_a']} vs {rec['unit_b']})"
    if method_definition(rec["method_a"]) != method_definition(rec["method_b"]):
        return f"measurement method differs ({rec['method_a']} vs {rec['method_b']})"
    ha, hb = rec.get("artifact_sha256_a"), rec.get("artifact_sha256_b")
    if not allow_artifact_change and ha and hb and ha != hb:
        return f"artifact sha256 differs ({str(ha)[:12]} vs {str(hb)[:12]}); --allow-artifact-change judges anyway"
    return ""


def method_definition(method: Any) -> str:
    """How a metric was measured, without the counts that vary run to run ("median of 361")."""
    return re.sub(r"\d+(\.\d+)?", "#", str(method or "")).strip()


def _samples(value: Any) -> np.ndarray:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.empty(0)
    x = np.asarray(value, dtype=float)
    return x[np.isfinite(x)]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _fill_values(row: Row, rec: Mapping[str, Any]) -> None:
    row.a, row.b = _num(rec.get("value_a")), _num(rec.get("value_b"))
    if row.a and row.b is not None:
        row.ratio = row.b / row.a


def _judge_deterministic(row: Row, rec: Mapping[str, Any], th: Threshold) -> None:
    _fill_values(row, rec)
    a, b = row.a, row.b
    if a is None or b is None:
        row.verdict, row.reason = Verdict.INCOMPARABLE, f"no value on side {'A' if a is None else 'B'}"
        return
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


def _judge_noisy(pending: Sequence[tuple[Row, np.ndarray, np.ndarray, Threshold]], seed: int | None) -> None:
    kwargs = {} if seed is None else {"seed": seed}
    raw_p: list[float] = []
    for row, sa, sb, _ in pending:
        ci = median_ratio_ci(sa, sb, **kwargs)
        row.a, row.b = float(np.median(sa)), float(np.median(sb))
        row.ratio, row.ci_low, row.ci_high = ci.ratio, ci.low, ci.high
        row.p = mann_whitney_p(sa, sb)
        raw_p.append(row.p)
    adjusted = holm(raw_p)
    for (row, _, _, th), p_adj in zip(pending, adjusted, strict=True):
        row.p_holm = float(p_adj)
        _decide(row, th)


def _decide(row: Row, th: Threshold) -> None:
    hi, lo = 1.0 + th.delta, 1.0 / (1.0 + th.delta)
    ratio = row.ratio if row.ratio is not None else float("nan")
    worse = ratio <= lo if th.higher_is_better else ratio >= hi
    better = ratio >= hi if th.higher_is_better else ratio <= lo
    significant = row.p_holm is not None and row.p_holm < th.alpha
    pct = (ratio - 1.0) * 100.0
    if significant and worse:
        row.verdict, row.reason = Verdict.REGRESSED, f"{pct:+.1f}% (threshold {th.delta:.0%}, Holm p {row.p_holm:.2g})"
    elif significant and better:
        row.verdict, row.reason = Verdict.IMPROVED, f"{pct:+.1f}% (threshold {th.delta:.0%}, Holm p {row.p_holm:.2g})"
    elif row.ci_low is not None and lo <= row.ci_low and row.ci_high is not None and row.ci_high <= hi:
        row.verdict, row.reason = Verdict.UNCHANGED, f"CI inside ±{th.delta:.0%}"
    else:
        row.verdict, row.reason = Verdict.INCONCLUSIVE, "CI crosses the threshold: re-run with more samples"


def _unmatched(merged: pd.DataFrame, a: Side, b: Side) -> list[Row]:
    """Rows present on one side only: explain why (fingerprint moved, a side failed, missing)."""
    only_a = merged[merged["_merge"] == "left_only"]
    only_b = merged[merged["_merge"] == "right_only"]
    rows: list[Row] = []
    by_name_b = {
        (r["workload"], r["precision"], r["backend"], r["device_b"], r["metric"]): r["device_fingerprint"]
        for r in only_b.to_dict("records")
    }
    paired_b: set[tuple[str, ...]] = set()
    for side, frame, other in (("a", only_a, b), ("b", only_b, a)):
        other_cells = _cell_status(other.cells)
        for rec in frame.to_dict("records"):
            dev = rec[f"device_{side}"]
            name_key = (rec["workload"], rec["precision"], rec["backend"], dev, rec["metric"])
            row = Row(
                workload=rec["workload"],
                precision=rec["precision"],
                backend=rec["backend"],
                device=str(dev),
                device_fingerprint=rec["device_fingerprint"],
                metric=rec["metric"],
                unit=rec[f"unit_{side}"],
                kind=str(rec[f"kind_{side}"]),
                verdict=Verdict.INCOMPARABLE,
            )
            value = _num(rec[f"value_{side}"])
            if side == "a":
                row.a = value
            else:
                row.b = value
            other_label = "B" if side == "a" else "A"
            cell = other_cells.get(tuple(rec[k] for k in CELL_KEY))
            if side == "a" and name_key in by_name_b:
                paired_b.add(name_key)
                row.reason = f"device fingerprint differs ({rec['device_fingerprint']} vs {by_name_b[name_key]})"
            elif side == "b" and name_key in paired_b:
                continue  # reported once, on the A row
            elif cell is not None and cell[0] not in MEASURED:
                row.reason = f"{other_label} {cell[0]}" + (f": {cell[1]}" if cell[1] else "")
            else:
                row.reason = f"only in {side.upper()}"
            rows.append(row)
    return rows


def _cell_status(cells: pd.DataFrame) -> dict[tuple[str, ...], tuple[str, str]]:
    out: dict[tuple[str, ...], tuple[str, str]] = {}
    for rec in cells.to_dict("records"):
        key = tuple("" if (k == "device_fingerprint" and rec[k] is None) else rec[k] for k in CELL_KEY)
        out[key] = (rec["status"], rec.get("error") or "")
    return out
