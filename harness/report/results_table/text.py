"""What each cell of a results matrix shows, as plain text pieces every format composes:
rounding (3 significant digits, errors in e-notation), units in headers, status words.
Formatting only: every decision was made in analysis.results_matrix."""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.analysis.results_columns import QUANTITIES
from harness.analysis.results_matrix import DeviceGroup, MatrixCell, MatrixRow, ResultsMatrix
from harness.report.units import duration, interval, is_time

NO_VALUE = "–"
REFERENCE = "ref"


@dataclass(frozen=True)
class Shown:
    text: str  # the number, or the status word of a cell that did not measure
    ci: str | None = None  # the median's CI, "[12.1, 12.6]"
    suffix: str = ""  # a unit sign that belongs after the number ("×")
    status: str | None = None  # failed / timeout / skipped / not_run / n/a / accuracy_fail
    best: bool = False
    note: str | None = None  # the error or the reason (tooltips, footnotes)
    badges: tuple[tuple[str, str, str], ...] = ()  # (code, label, message): the cell's flags, for HTML badges
    at: str | None = None  # the date of the cell's run


def _decimals(v: float, significant: int = 3) -> int:
    return 0 if v == 0 else max(0, significant - 1 - math.floor(math.log10(abs(v))))


def number(v: float | None, significant: int = 3) -> str:
    """3 significant digits, never e-notation for ordinary magnitudes (1234, 12.3, 0.123, 0.00123)."""
    if v is None or not math.isfinite(v):
        return NO_VALUE
    return f"{v:.{_decimals(v, significant)}f}"


def error(v: float | None) -> str:
    """Relative errors span decades: 2 significant digits in e-notation; an exact 0 stays 0."""
    if v is None or not math.isfinite(v):
        return NO_VALUE
    return "0" if v == 0 else f"{v:.1e}"


def latency(cell: MatrixCell, unit: str | None = None) -> tuple[str, str | None]:
    """The median and its CI; a duration carries the unit that fits it ("14.2 µs", "9.78 ms")."""
    if cell.latency is None:
        return NO_VALUE, None
    if is_time(unit):
        return duration(cell.latency, unit), interval(cell.ci_low, cell.ci_high, cell.latency, unit)
    d = _decimals(cell.latency)
    ci = None if cell.ci_low is None or cell.ci_high is None else f"[{cell.ci_low:.{d}f}, {cell.ci_high:.{d}f}]"
    return f"{cell.latency:.{d}f}", ci


def shown(matrix: ResultsMatrix, cell: MatrixCell, key: str, unit: str | None = None) -> Shown:
    """``unit``: the row's (each row may have its own); the matrix's shared one when not given."""
    if not cell.measured:
        if key == "latency":
            return Shown(cell.status, status=cell.status, note=cell.error, at=cell.at)
        return Shown(NO_VALUE)
    # accuracy_fail is said once: beside the error when that column shows, else beside the median
    flag_at = "rel_l2" if "rel_l2" in matrix.columns else "latency"
    flag = "accuracy_fail" if cell.status == "accuracy_fail" and key == flag_at else None
    if key == "latency":
        text, ci = latency(cell, unit if unit is not None else matrix.unit)
        return Shown(text, ci=ci, status=flag, best=cell.best, note=cell.error or "; ".join(cell.flags) or None,
                     badges=cell.badges, at=cell.at)
    if key == "speedup":
        return Shown(NO_VALUE) if cell.speedup is None else Shown(f"{cell.speedup:.2f}", suffix="×")
    if key == "vs_ort":
        return Shown(NO_VALUE) if cell.vs_ort is None else Shown(f"{cell.vs_ort:.2f}", suffix="×")
    if key == "memory":
        return Shown(number(cell.memory_mb))
    if key == "energy":
        return Shown(number(cell.energy_mj))
    if key == "rel_l2":
        return Shown(error(cell.rel_l2), status=flag, note=cell.error if flag else None)
    if key == "xplat":
        if cell.is_reference:
            return Shown(REFERENCE)
        return Shown(error(cell.xplat_rel_l2), note=cell.xplat_note or
                     (None if cell.xplat_max_abs is None else f"max-abs {cell.xplat_max_abs:.2e}"))
    raise KeyError(key)


def header(matrix: ResultsMatrix, key: str) -> str:
    """A column's header with its unit (the latency unit only when every row shares it)."""
    shared = "" if is_time(matrix.unit) else matrix.unit or ""  # a duration says its own unit in its cell
    text = QUANTITIES[key].header.format(unit=shared, reference=matrix.reference)
    return text.replace(" ()", "")


def group_label(group: DeviceGroup, matrix: ResultsMatrix) -> str:
    """The device (and, when rows are not split by backend, the backend it ran)."""
    if matrix.by_backend or not group.backends:
        return group.key
    return f"{group.key} · {'/'.join(group.backends)}"


def label_columns(matrix: ResultsMatrix) -> list[str]:
    cols = ["workload", "precision"]
    if matrix.by_runtime:
        cols.append("runtime")
    if matrix.by_backend:
        cols.append("backend")
    if series_column(matrix):
        cols.append("series")
    return cols


def series_column(matrix: ResultsMatrix) -> bool:
    """One series for every row goes in the title; several need a column."""
    return len({(r.metric, r.unit) for r in matrix.rows}) > 1


def row_labels(matrix: ResultsMatrix, row: MatrixRow) -> list[str]:
    out = [row.workload, row.precision]
    if matrix.by_runtime:
        out.append(row.runtime or "")
    if matrix.by_backend:
        out.append(row.backend or "")
    if series_column(matrix):
        out.append(f"{row.metric} ({row.unit})" if row.unit and not matrix.unit and not is_time(row.unit)
                   else row.metric)
    return out


def caption(matrix: ResultsMatrix, title: str | None = None) -> str:
    """The table's title line: what was asked for and, when every row shows it, the series."""
    series = {r.metric for r in matrix.rows}
    parts = [title] if title else []
    if len(series) == 1:
        parts.append(f"series {next(iter(series))}")
    return " · ".join(parts)


def footnotes(matrix: ResultsMatrix) -> list[str]:
    """How to read the columns, then the matrix's own notes."""
    out = []
    for key in ("speedup", "vs_ort"):
        if key in matrix.columns:
            out.append(f"{header(matrix, key)}: {QUANTITIES[key].help}")
    if "xplat" in matrix.columns:
        out.append(f"rel-L2 vs {matrix.reference}: {matrix.reference_method}")
    if matrix.by_backend:
        out.append("★ best backend per device and precision")
    return out + list(matrix.notes)
