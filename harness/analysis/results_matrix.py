"""The results matrix: rows workload x precision (x backend), one column group per device.

Pure: frames in, a ResultsMatrix out; no I/O, no formatting. Every renderer (terminal,
markdown, CSV, HTML, LaTeX, the site's charts) shows this one object and decides nothing.

Decisions made here:
- which latency series a workload is shown by (its headline, or the first match of a glob);
- rows: workload x precision, split by backend only when a device ran more than one backend
  for the same workload and precision (then the fastest backend per device is marked best);
  each such row names its backend's runtime (ONNX Runtime first), and every cell gets its
  speed-up vs the device's ONNX Runtime fp32 cell;
- per cell: median with its 95 % CI (order statistics / bootstrap, analysis.stats.median_ci),
  speed-up vs fp32 on the same device and backend, peak memory, energy per inference,
  rel-L2 vs fp32, cross-platform agreement (xplat) vs the reference;
- a cell that did not measure keeps its status (failed, timeout, skipped, thermal_gated,
  not_run = planned but never recorded, n/a = not in the device's plan): never blank;
- which columns show: the asked ones, or the defaults that have any data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis.compare import MEASURED
from harness.analysis.fidelity import XPLAT_HOST_METHOD, XPLAT_MAX_ABS, XPLAT_REL_L2
from harness.analysis.results_columns import DEFAULT_COLUMNS, QUANTITIES
from harness.analysis.run_table import PRECISION_ORDER, headline_metric
from harness.analysis.stats import median_ci
from harness.analysis.thresholds import higher_is_better
from harness.runtimes.registry import ONNXRUNTIME

FP32 = "fp32"
MEMORY_METRICS = ("peak_rss_mb", "peak_pss_mb")  # the runner's RSS; Android PSS where no RSS was reported
ENERGY_METRIC = "energy_mj_per_inference"
REL_L2_METRIC = "rel_l2"
NOT_RUN = "not_run"  # planned, never recorded (an interrupted run)
NOT_PLANNED = "n/a"  # the device's plan has no such cell
HOST_REFERENCE = "host CPU EP"


@dataclass(frozen=True)
class Agreement:
    """Cross-platform agreement of one cell with the reference device's same cell."""

    rel_l2: float | None = None
    max_abs: float | None = None
    reason: str | None = None  # why there is no number (no kept outputs, other inputs, ...)


@dataclass(frozen=True)
class DeviceGroup:
    key: str  # unique column-group id (the device name, + fingerprint when one name has several)
    device: str
    fingerprint: str | None
    backends: tuple[str, ...]
    run_ids: tuple[str, ...]
    created: str | None  # the newest run's date among this group's cells


@dataclass
class MatrixCell:
    status: str
    backend: str | None = None
    latency: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    speedup: float | None = None
    vs_ort: float | None = None  # the device's ONNX Runtime fp32 median over this one
    runtime: str | None = None
    memory_mb: float | None = None
    energy_mj: float | None = None
    rel_l2: float | None = None
    xplat_rel_l2: float | None = None
    xplat_max_abs: float | None = None
    xplat_note: str | None = None
    is_reference: bool = False
    best: bool = False
    error: str | None = None
    flags: tuple[str, ...] = ()
    run_id: str | None = None
    cell_id: int | None = None

    @property
    def measured(self) -> bool:
        return self.status in MEASURED


@dataclass
class MatrixRow:
    workload: str
    precision: str
    backend: str | None  # None: one backend per device (each cell says which)
    metric: str
    unit: str
    higher_is_better: bool
    cells: dict[str, MatrixCell] = field(default_factory=dict)  # DeviceGroup.key -> cell
    runtime: str | None = None  # the backend's runtime, when rows are split by backend


@dataclass
class ResultsMatrix:
    devices: list[DeviceGroup]
    rows: list[MatrixRow]
    columns: tuple[str, ...]
    reference: str = HOST_REFERENCE  # what xplat compares with
    reference_method: str = XPLAT_HOST_METHOD
    notes: list[str] = field(default_factory=list)

    @property
    def by_backend(self) -> bool:
        return any(r.backend is not None for r in self.rows)

    @property
    def by_runtime(self) -> bool:
        """Rows name their runtime: some backend runs another runtime than ONNX Runtime."""
        return any(r.runtime not in (None, ONNXRUNTIME) for r in self.rows)

    @property
    def unit(self) -> str | None:
        """The latency unit when every row shares one (then it goes in the header)."""
        units = {r.unit for r in self.rows}
        return units.pop() if len(units) == 1 else None

    def status_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            for c in r.cells.values():
                out[c.status] = out.get(c.status, 0) + 1
        return out

    def records(self) -> list[dict[str, Any]]:
        """One flat record per (row, device): the tidy form (CSV, charts)."""
        out = []
        for r in self.rows:
            for d in self.devices:
                c = r.cells[d.key]
                out.append({
                    "workload": r.workload, "precision": r.precision, "backend": c.backend or r.backend,
                    "runtime": c.runtime or r.runtime,
                    "metric": r.metric, "unit": r.unit, "device": d.device, "device_group": d.key,
                    "fingerprint": d.fingerprint, "status": c.status, "median": c.latency, "ci_low": c.ci_low,
                    "ci_high": c.ci_high, "n": c.n, "speedup_vs_fp32": c.speedup,
                    "speedup_vs_ort_fp32": c.vs_ort, "peak_memory_mb": c.memory_mb,
                    "energy_mj_per_inference": c.energy_mj, "rel_l2_vs_fp32": c.rel_l2,
                    "xplat_rel_l2": c.xplat_rel_l2, "xplat_max_abs": c.xplat_max_abs,
                    "xplat_reference": self.reference, "best_backend": c.best, "error": c.error,
                    "flags": "; ".join(c.flags), "run_id": c.run_id,
                })
        return out


# ---------------------------------------------------------------------------- choosing series
def headline_metrics(metrics: pd.DataFrame, metric: str | None = None) -> dict[str, str]:
    """workload -> the noisy series its rows show: ``metric`` (a name or glob; the first match in
    name order) or the workload's headline (latency_ms, sentence_ms, decode_ms, ttft_ms)."""
    out: dict[str, str] = {}
    if metrics.empty:
        return out
    noisy = metrics[metrics["kind"] == "noisy"]
    for workload, g in noisy.groupby("workload", sort=True):
        names = sorted(set(g["metric"]))
        pick = next((n for n in names if fnmatchcase(n, metric)), None) if metric else headline_metric(names)
        if pick is not None:
            out[str(workload)] = pick
    return out


# ---------------------------------------------------------------------------- helpers
def _finite(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _flags(result_json: Any) -> tuple[str, ...]:
    """Cell flags as text: issue-11 objects ({code, message}) or the plain strings of older stores."""
    if not isinstance(result_json, str) or not result_json:
        return ()
    try:
        flags = json.loads(result_json).get("flags") or []
    except (ValueError, AttributeError):
        return ()
    out = []
    for f in flags:
        if isinstance(f, dict):
            out.append(str(f.get("message") or f.get("code") or ""))
        else:
            out.append(str(f))
    return tuple(x for x in out if x)


def _identity(result_json: Any) -> tuple[str, str | None]:
    """(runtime, ONNX Runtime provider) of a stored cell: its identity, ONNX Runtime when it has none."""
    try:
        ident = json.loads(result_json).get("identity") if isinstance(result_json, str) and result_json else None
    except (ValueError, AttributeError):
        ident = None
    if not isinstance(ident, dict):
        return ONNXRUNTIME, None
    return str(ident.get("runtime") or ONNXRUNTIME), ident.get("provider")


def cell_runtime(result_json: Any) -> str:
    """The runtime a stored cell ran on (ONNX Runtime for cells stored before runtimes existed)."""
    return _identity(result_json)[0]


def _device_groups(cells: pd.DataFrame) -> pd.Series:
    """Column-group key per cell: the device name, unless one name came with several fingerprints."""
    fps = cells["device_fingerprint"].where(cells["device_fingerprint"].notna(), None)
    many = {d for d, g in fps.groupby(cells["device"]) if g.dropna().nunique() > 1}
    keys = [f"{d} [{(fp or 'unknown')[:8]}]" if d in many else str(d) for d, fp in zip(cells["device"], fps)]
    return pd.Series(keys, index=cells.index, dtype=object)


def _precision_rank(p: str) -> tuple[int, str]:
    return (PRECISION_ORDER.index(p) if p in PRECISION_ORDER else len(PRECISION_ORDER), p)


# ---------------------------------------------------------------------------- the decision
def results_matrix(
    cells: pd.DataFrame,
    metrics: pd.DataFrame,
    samples: Mapping[tuple[int, str], np.ndarray],
    *,
    planned: pd.DataFrame | None = None,
    metric: str | None = None,
    columns: Sequence[str] | None = None,
    agreement: Mapping[int, Agreement] | None = None,
    reference: str = HOST_REFERENCE,
    reference_method: str = XPLAT_HOST_METHOD,
) -> ResultsMatrix:
    """``cells``: one row per selected cell (Store.cells_frame columns; at most one per device x
    workload x precision x backend). ``metrics``: their Store.metrics_frame rows. ``samples``:
    raw samples keyed (cell_id, metric) of at least the headline series. ``planned``: plan
    entries (device, workload, precision, backend, status, reason) with no stored cell.
    ``agreement``: cross-platform numbers per cell id against a reference *device*
    (``reference`` names it); without it, the stored xplat metrics (vs the host) are shown."""
    unknown = [c for c in (columns or ()) if c not in QUANTITIES]
    if unknown:
        raise ValueError(f"unknown column(s) {unknown}; known: {', '.join(QUANTITIES)}")
    notes: list[str] = []
    planned = planned if planned is not None else pd.DataFrame(columns=["device", "workload", "precision", "backend",
                                                                        "status", "reason"])
    cells = cells.copy()
    cells["group"] = _device_groups(cells) if not cells.empty else pd.Series(dtype=object)
    idents = [_identity(r) for r in cells["result_json"]] if "result_json" in cells and not cells.empty else []
    cells["runtime"] = pd.Series([i[0] for i in idents], index=cells.index, dtype=object)
    cells["provider"] = pd.Series([i[1] for i in idents], index=cells.index, dtype=object)
    if "runtime" not in planned:
        planned = planned.assign(runtime=ONNXRUNTIME)
    runtime_of = _runtime_by_backend(cells, planned)
    heads = headline_metrics(metrics, metric)
    workloads = sorted(set(cells["workload"]) | set(planned["workload"]))
    missing = [w for w in workloads if w not in heads and (metric or _measured(cells, w))]
    if missing:
        what = f"no series matches --metric {metric}" if metric else "no latency series"
        notes.append(f"{what} for {', '.join(missing)}: " + ("rows left out" if metric else "status only"))
    if metric:
        workloads = [w for w in workloads if w in heads]

    values = _values_by_cell(metrics)
    units = {} if metrics.empty else {(str(w), str(m)): str(u or "") for w, m, u in
                                      zip(metrics["workload"], metrics["metric"], metrics["unit"])}
    groups = _groups(cells, planned)
    by_backend = _split_by_backend(cells, planned)
    rows: list[MatrixRow] = []
    index: dict[tuple[str, str, str | None], MatrixRow] = {}
    for w in workloads:
        head = heads.get(w, "")
        wc = cells[cells["workload"] == w]
        wp = planned[planned["workload"] == w]
        precisions = sorted(set(wc["precision"]) | set(wp["precision"]), key=_precision_rank)
        for p in precisions:
            backends: list[str | None] = (sorted(set(wc.loc[wc["precision"] == p, "backend"])
                                                 | set(wp.loc[wp["precision"] == p, "backend"]),
                                                 key=lambda b: (runtime_of.get(str(b)) != ONNXRUNTIME,
                                                                runtime_of.get(str(b), ""), str(b)))
                                          if by_backend else [None])
            for b in backends:
                row = MatrixRow(w, p, b, head, units.get((w, head), ""), higher_is_better(head) if head else False,
                                runtime=runtime_of.get(b) if b is not None else None)
                index[(w, p, b)] = row
                rows.append(row)

    agreement = agreement or {}
    ref_groups = {g.key for g in groups if g.device == reference}
    for c in cells.itertuples(index=False):
        found = index.get((c.workload, c.precision, c.backend if by_backend else None))
        if found is None:
            continue
        row = found
        vals = values.get(int(c.id), {})
        cell = MatrixCell(status=str(c.status), backend=str(c.backend), error=None if pd.isna(c.error) else str(c.error),
                          flags=_flags(c.result_json), run_id=str(c.run_id), cell_id=int(c.id), runtime=str(c.runtime))
        if cell.measured:
            cell.latency = _finite(vals.get(row.metric)) if row.metric else None
            raw = samples.get((int(c.id), row.metric))
            if raw is not None and len(raw):
                cell.n = int(len(raw))
                ci = median_ci(raw)
                if ci is not None:
                    cell.ci_low, cell.ci_high = ci
            cell.memory_mb = next((v for v in (_finite(vals.get(m)) for m in MEMORY_METRICS) if v is not None), None)
            cell.energy_mj = _finite(vals.get(ENERGY_METRIC))
            cell.rel_l2 = _finite(vals.get(REL_L2_METRIC))
            if c.group in ref_groups:
                cell.is_reference = True
            elif agreement or reference != HOST_REFERENCE:
                a = agreement.get(int(c.id), Agreement(reason="no agreement computed"))
                cell.xplat_rel_l2, cell.xplat_max_abs, cell.xplat_note = a.rel_l2, a.max_abs, a.reason
            else:
                cell.xplat_rel_l2, cell.xplat_max_abs = _finite(vals.get(XPLAT_REL_L2)), _finite(vals.get(XPLAT_MAX_ABS))
        row.cells[str(c.group)] = cell
    for pc in planned.itertuples(index=False):
        found = index.get((pc.workload, pc.precision, pc.backend if by_backend else None))
        key = next((g.key for g in groups if g.device == pc.device), str(pc.device))
        if found is not None and key not in found.cells:
            skipped = pc.status == "skipped"
            found.cells[key] = MatrixCell(status="skipped" if skipped else NOT_RUN, backend=str(pc.backend),
                                        runtime=str(pc.runtime or ONNXRUNTIME),
                                        error=(pc.reason if skipped else "planned, never recorded: the run stopped "
                                               "before this cell (harness run --resume RUN_ID runs it)"))
    for row in rows:
        for g in groups:
            row.cells.setdefault(g.key, MatrixCell(status=NOT_PLANNED))
    _speedups(rows)
    _vs_ort(rows, cells)
    if by_backend:
        _mark_best(rows, groups)
    shown = tuple(columns) if columns else _default_columns(rows, reference != HOST_REFERENCE)
    return ResultsMatrix(devices=groups, rows=rows, columns=shown, reference=reference,
                         reference_method=reference_method, notes=notes)


def _measured(cells: pd.DataFrame, workload: str) -> bool:
    return bool(cells.loc[cells["workload"] == workload, "status"].isin(MEASURED).any())


def _values_by_cell(metrics: pd.DataFrame) -> dict[int, dict[str, Any]]:
    if metrics.empty:
        return {}
    return {int(cid): dict(zip(g["metric"], g["value"])) for cid, g in metrics.groupby("cell_id")}


def _groups(cells: pd.DataFrame, planned: pd.DataFrame) -> list[DeviceGroup]:
    out = []
    for key, g in cells.groupby("group", sort=True) if not cells.empty else []:
        fps = g["device_fingerprint"].dropna()
        created = g["run_created_at"].dropna() if "run_created_at" in g else pd.Series(dtype=object)
        out.append(DeviceGroup(key=str(key), device=str(g["device"].iloc[0]),
                               fingerprint=str(fps.iloc[0]) if len(fps) else None,
                               backends=tuple(sorted(set(g["backend"]))),
                               run_ids=tuple(sorted(set(g["run_id"]))),
                               created=str(max(created)) if len(created) else None))
    known = {g.device for g in out}
    for device, g in planned.groupby("device", sort=True):  # planned, nothing recorded at all
        if device not in known:
            out.append(DeviceGroup(key=str(device), device=str(device), fingerprint=None,
                                   backends=tuple(sorted(set(g["backend"]))), run_ids=(), created=None))
    return sorted(out, key=lambda d: d.key)


def _split_by_backend(cells: pd.DataFrame, planned: pd.DataFrame) -> bool:
    """Rows carry the backend only when some device has several for one workload x precision."""
    both = pd.concat([cells[["device", "workload", "precision", "backend"]],
                      planned[["device", "workload", "precision", "backend"]]], ignore_index=True)
    if both.empty:
        return False
    return bool(both.groupby(["device", "workload", "precision"])["backend"].nunique().max() > 1)


def _speedups(rows: list[MatrixRow]) -> None:
    """fp32 median / this median, same device, workload, backend and series (inverted when
    higher is better): how much faster this precision is than fp32 there."""
    fp32: dict[tuple[str, str, str | None, str], float] = {}
    for r in rows:
        if r.precision != FP32:
            continue
        for key, c in r.cells.items():
            if c.measured and c.latency:
                fp32[(r.workload, key, c.backend, r.metric)] = c.latency
    for r in rows:
        for key, c in r.cells.items():
            base = fp32.get((r.workload, key, c.backend, r.metric))
            if c.measured and c.latency and base:
                c.speedup = c.latency / base if r.higher_is_better else base / c.latency


def _runtime_by_backend(cells: pd.DataFrame, planned: pd.DataFrame) -> dict[str, str]:
    out: dict[str, str] = {}
    for b, rt in [*zip(cells.get("backend", []), cells.get("runtime", [])),
                  *zip(planned["backend"], planned["runtime"])]:
        out.setdefault(str(b), str(rt or ONNXRUNTIME))
    return out


def _vs_ort(rows: list[MatrixRow], cells: pd.DataFrame) -> None:
    """The device's ONNX Runtime fp32 median over this median (same workload and series): the CPU
    EP backend's where the device has one, else the first ONNX Runtime backend by name."""
    cpu = {str(b) for b, p in zip(cells.get("backend", []), cells.get("provider", [])) if p == "CPUExecutionProvider"}
    base: dict[tuple[str, str, str], tuple[bool, str, float]] = {}
    for r in rows:
        if r.precision != FP32:
            continue
        for key, c in r.cells.items():
            if c.measured and c.latency and (c.runtime or ONNXRUNTIME) == ONNXRUNTIME:
                rank = (c.backend not in cpu, c.backend or "", c.latency)
                slot = (r.workload, key, r.metric)
                if slot not in base or rank < base[slot]:
                    base[slot] = rank
    for r in rows:
        for key, c in r.cells.items():
            ref = base.get((r.workload, key, r.metric))
            if c.measured and c.latency and ref:
                c.vs_ort = c.latency / ref[2] if r.higher_is_better else ref[2] / c.latency


def _mark_best(rows: list[MatrixRow], groups: list[DeviceGroup]) -> None:
    """Per device x workload x precision: the backend with the best median, when there is a choice."""
    by: dict[tuple[str, str, str], list[tuple[MatrixRow, MatrixCell]]] = {}
    for r in rows:
        for g in groups:
            c = r.cells[g.key]
            if c.measured and c.latency is not None:
                by.setdefault((r.workload, r.precision, g.key), []).append((r, c))
    for candidates in by.values():
        if len(candidates) < 2:
            continue
        hib = candidates[0][0].higher_is_better
        best = max(candidates, key=lambda rc: rc[1].latency) if hib else min(candidates, key=lambda rc: rc[1].latency)  # type: ignore[arg-type, return-value]
        best[1].best = True


def _default_columns(rows: list[MatrixRow], device_reference: bool) -> tuple[str, ...]:
    """The default columns that have something to show (latency always; xplat always against a
    device reference, where its reason notes say why a number is missing)."""
    def has(attr: str) -> bool:
        return any(getattr(c, attr) is not None for r in rows for c in r.cells.values())

    other_runtimes = any(r.runtime not in (None, ONNXRUNTIME) for r in rows)
    present = {"latency": True, "speedup": has("speedup"), "vs_ort": other_runtimes and has("vs_ort"),
               "memory": has("memory_mb"), "energy": has("energy_mj"),
               "rel_l2": has("rel_l2"), "xplat": device_reference or has("xplat_rel_l2")}
    return tuple(k for k in DEFAULT_COLUMNS if present[k])
