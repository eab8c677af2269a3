"""The per-cell summary table of one run (pure: frames in, frame out).

One row per cell with its headline latency series (p50/p90), peak memory, error vs fp32,
power/energy/temperature where probed, status, EP used and flags (short labels, and the
full messages in ``flag_detail``). The terminal table, the
markdown export and the HTML report all render this one frame.
"""

from __future__ import annotations

import json
import math
import re

import pandas as pd

from harness.analysis.flags import labels, parse_flags

# Which noisy series headlines a cell, by workload kind (first prefix present wins).
PRECISION_ORDER = ("fp32", "fp16", "int8", "int8-static", "int4")
HEADLINE_PREFIXES = ("latency_ms", "sentence_ms", "decode_ms", "ttft_ms")
COLUMNS = [
    "device", "workload", "precision", "backend", "status", "metric", "p50", "p90", "unit", "peak_mb",
    "rel_l2", "top1", "token_match", "power_w", "energy_mj", "temp_max_c", "ep_used", "runtime", "runtime_note",
    "flags", "flag_detail", "error", "cell_id",
]


#: llm cells (no latency series): llama-bench's generation test, tok/s, at the smallest KV depth
LLM_HEADLINE = re.compile(r"^tg(\d+)@d(\d+)$")


def headline_metric(names: list[str]) -> str | None:
    for prefix in HEADLINE_PREFIXES:
        hits = sorted(n for n in names if n == prefix or n.startswith(prefix + "@"))
        if hits:
            return hits[0]
    tg = [(int(m.group(2)), int(m.group(1)), n) for n in names if (m := LLM_HEADLINE.match(n))]
    return min(tg)[2] if tg else None


def _value(metrics: dict[str, float], name: str) -> float | None:
    v = metrics.get(name)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


def _peak_mb(metrics: dict[str, float]) -> float | None:
    """The runner's peak RSS; Android PSS where the runner reported no RSS (methods table says which)."""
    rss = _value(metrics, "peak_rss_mb")
    return rss if rss is not None else _value(metrics, "peak_pss_mb")


def _runtime(result: dict) -> dict[str, str | None]:  # type: ignore[type-arg]
    """A cell of a runtime other than ONNX Runtime: "<name> <version>", and what its precision means
    there (with the tensors whose layout was mapped back for the output comparison)."""
    rt = result.get("runtime")
    if not isinstance(rt, dict):  # a cell that did not run: its identity still names the runtime
        ident = result.get("identity")
        name = ident.get("runtime") if isinstance(ident, dict) else None
        return {"runtime": str(name) if name else None, "runtime_note": None}
    note = [str(rt.get("meaning") or "")] + [f"layout mapped back: {x}" for x in rt.get("layouts_mapped") or []]
    return {"runtime": f"{rt.get('name')} {rt.get('version') or ''}".strip(), "runtime_note": "; ".join(n for n in note if n)}


def run_table(cells: pd.DataFrame, metrics: pd.DataFrame) -> pd.DataFrame:
    rows = []
    by_cell = {cid: g for cid, g in metrics.groupby("cell_id")} if not metrics.empty else {}
    order = {p: i for i, p in enumerate(PRECISION_ORDER)}
    cells = cells.assign(_p=cells["precision"].map(lambda p: order.get(p, len(order))))
    for cell in cells.sort_values(["device", "workload", "_p", "backend"]).itertuples():
        g = by_cell.get(cell.id)
        vals: dict[str, float] = {}
        units: dict[str, str] = {}
        noisy: list[str] = []
        if g is not None:
            vals = dict(zip(g["metric"], g["value"]))
            units = dict(zip(g["metric"], g["unit"]))
            noisy = list(g.loc[g["kind"] == "noisy", "metric"])
        head = headline_metric(noisy)
        result = json.loads(cell.result_json) if isinstance(cell.result_json, str) and cell.result_json else {}
        flags = parse_flags(result.get("flags"))
        rows.append({
            "device": cell.device,
            "workload": cell.workload,
            "precision": cell.precision,
            "backend": cell.backend,
            "status": cell.status,
            "metric": head,
            "p50": _value(vals, head) if head else None,
            "p90": _value(vals, f"{head}.p90") if head else None,
            "unit": units.get(head, "") if head else "",
            "peak_mb": _peak_mb(vals),
            "rel_l2": _value(vals, "rel_l2"),
            "top1": _value(vals, "top1_agreement"),
            "token_match": _value(vals, "token_match"),
            "power_w": _value(vals, "power_w"),
            "energy_mj": _value(vals, "energy_mj_per_inference"),
            "temp_max_c": _value(vals, "temp_max_c"),
            "ep_used": cell.ep_used,
            **_runtime(result),
            "flags": labels(flags),  # short, beside the cell
            "flag_detail": "\n".join(f.message for f in flags),
            "error": cell.error,
            "cell_id": int(cell.id),
        })
    frame = pd.DataFrame(rows, columns=COLUMNS).astype(object)
    return frame.where(frame.notna(), None)  # None, not NaN, for absent text and numbers


def fmt(v: object, digits: int = 3) -> str:
    """Compact number formatting for tables (3 significant digits, small numbers in e-notation)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, float):
        if v != 0 and (abs(v) < 1e-2 or abs(v) >= 1e5):
            return f"{v:.2e}"
        return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"
    return str(v)
