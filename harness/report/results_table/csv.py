"""The results matrix as CSV: tidy (one line per row x device), full precision, units in
the column names; a spreadsheet or pandas pivots it back."""

from __future__ import annotations

import csv
import io

from harness.analysis.results_matrix import ResultsMatrix

COLUMNS = ["workload", "precision", "backend", "runtime", "metric", "unit", "device", "device_group", "fingerprint",
           "status", "median", "ci_low", "ci_high", "n", "speedup_vs_fp32", "speedup_vs_ort_fp32", "peak_memory_mb",
           "energy_mj_per_inference", "rel_l2_vs_fp32", "xplat_rel_l2", "xplat_max_abs", "xplat_reference",
           "best_backend", "error", "flags", "run_id"]


def render_csv(matrix: ResultsMatrix, title: str | None = None) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for rec in matrix.records():
        w.writerow({k: ("" if v is None else v) for k, v in rec.items()})
    return buf.getvalue()
