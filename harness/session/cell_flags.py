"""Which flags a measured cell carries (the decisions are in ``analysis.flags``).

Most flags come from the cell alone (EP fallback, an unchanged variant, a missed budget,
contention, drifting samples, probe warnings). ``slower_than_fp32`` needs the fp32 cell of
the same device, workload and backend: ``Fp32Headlines`` remembers each fp32 headline as it
is committed (seeded from the store on resume) and annotates later cells of the run.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.analysis import flags as F
from harness.analysis.run_table import headline_metric
from harness.builds.manifest import WorkloadEntry
from harness.plan import Cell
from harness.records import CONTENTION_METRIC, CellRecord

FP32 = "fp32"


def cell_flags(
    *,
    probe_flags: Sequence[str],
    providers: Mapping[str, Any] | None,
    unchanged_precision: str | None,
    violations: Sequence[str],
    contention: F.Flag | None,
    samples: Mapping[str, np.ndarray],
) -> list[F.Flag]:
    out: list[F.Flag] = []
    if unchanged_precision:
        out.append(F.variant_unchanged(unchanged_precision))
    for flag in (F.ep_fallback(providers), F.budget_missed(violations), contention):
        if flag is not None:
            out.append(flag)
    head = headline_metric(list(samples))
    if head is not None:
        drift = F.autocorrelated(head, samples[head])
        if drift is not None:
            out.append(drift)
    out += [F.parse_flag(text) for text in probe_flags]
    return out


def model_origin(entry: WorkloadEntry) -> dict[str, Any]:
    """``{"builtin": name}`` for a seeded built-in model, ``{"path": file}`` for a user's own."""
    src = entry.source or {}
    if "builder" in src:
        return {"builtin": src["builder"]}
    return {"path": src.get("path")}


def _headline(metrics: Mapping[str, tuple[float | None, str, str]]) -> tuple[str, float | None, str] | None:
    noisy = [name for name, (_, _, kind) in metrics.items() if kind == "noisy"]
    head = headline_metric(noisy)
    if head is None:
        return None
    value, unit, _ = metrics[head]
    return head, value, unit


class Fp32Headlines:
    """fp32 headline medians of this run per (device, workload, backend)."""

    def __init__(self) -> None:
        self._by: dict[tuple[str, str, str], dict[str, tuple[float | None, str, str]]] = {}
        self._samples: dict[tuple[str, str, str], tuple[Mapping[str, np.ndarray], float | None]] = {}
        self._lock = threading.Lock()

    def seed(self, metrics: pd.DataFrame) -> None:
        """From ``Store.metrics_frame`` of the run (a resumed run's earlier fp32 cells)."""
        if metrics.empty:
            return
        ok = metrics[(metrics["precision"] == FP32) & (metrics["status"] == "ok")]
        for (device, workload, backend), g in ok.groupby(["device", "workload", "backend"]):
            self._by[(str(device), str(workload), str(backend))] = {
                r.metric: (None if pd.isna(r.value) else float(r.value), r.unit or "", r.kind)
                for r in g.itertuples()
            }

    def annotate(self, rec: CellRecord) -> None:
        """Remember an fp32 cell; flag any other ok cell that is slower than its fp32."""
        if rec.status not in ("ok", "accuracy_fail"):
            return
        key = (rec.device, rec.workload, rec.backend)
        mine = {m.name: (m.value, m.unit, m.kind) for m in rec.metrics}
        cores = next((m.value for m in rec.metrics if m.name == CONTENTION_METRIC), None)
        with self._lock:
            if rec.precision == FP32:
                self._by[key] = mine
                self._samples[key] = (dict(rec.samples), cores)
                return
            fp32 = self._by.get(key)
            fp32_samples, fp32_cores = self._samples.get(key, ({}, None))
        head = _headline(mine)
        if fp32 is None or head is None or head[0] not in fp32:
            return
        name, value, unit = head
        flag = F.slower_than_fp32(name, value, fp32[name][0], unit, rec.backend, samples=rec.samples.get(name),
                                  fp32_samples=fp32_samples.get(name), cores=cores, fp32_cores=fp32_cores)
        if flag is not None:
            rec.result["flags"] = [*(rec.result.get("flags") or []), flag.to_json()]


def fp32_first(cells: Sequence[Cell]) -> list[Cell]:
    """The same cells, each fp32 cell moved ahead of the other precisions of its device, workload
    and backend (the order is otherwise kept), so they can be compared to it as they finish."""
    first_seen: dict[tuple[str, str, str], int] = {}
    for i, c in enumerate(cells):
        first_seen.setdefault((c.device, c.workload, c.backend), i)
    order = {id(c): (first_seen[(c.device, c.workload, c.backend)], c.precision != FP32, i) for i, c in enumerate(cells)}
    return sorted(cells, key=lambda c: order[id(c)])
