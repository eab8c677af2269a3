"""The cross-runtime LLM table: device x runtime x quantization of llm workloads (pure, no I/O).

One row per llm cell: llama-bench's tests (``pp<P>@d<D>``, ``tg<T>@d<D>``: median tok/s), time to
first token, load time, peak memory, energy per token where the device has a power source (per
generated token from the tg windows, per prompt token from the pp windows: session.llm_cell), and quality
against the reference precision on the same token ids (KL, top-1 agreement, perplexity, greedy
agreement). The pairs frame puts the same weights on the two runtimes side by side, like for like
(llama.cpp F16 with the ONNX decoder's fp32 and fp16, Q8_0 with int8, Q4_0 with int4), both sides
measured against the one reference, with ONNX Runtime's speed as a ratio of llama.cpp's.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from harness.config.models import PRECISIONS
from harness.runtimes.llamacpp import LLAMACPP
from harness.runtimes.registry import ONNXRUNTIME

TEST = re.compile(r"^(?P<kind>pp|tg)(?P<n>\d+)@d(?P<depth>\d+)$")
TTFT = re.compile(r"^ttft(?P<n>\d+)_ms$")
ROW_KEYS = ["device", "workload", "runtime", "precision", "backend"]
#: the row's single-valued columns: metric name in the store -> column
VALUES = {"load_ms": "load_ms", "peak_rss_mb": "peak_mb", "energy_mj_per_token@tg": "energy_mj_per_token",
          "energy_mj_per_token@pp": "prefill_mj_per_token", "kl_mean": "kl_mean", "top1_agreement": "top1",
          "ppl": "ppl", "greedy_match": "greedy"}
#: like for like across runtimes: (llama.cpp GGUF type, ONNX Runtime precision) of the same weight bits
PAIRS = (("F16", "fp32"), ("F16", "fp16"), ("Q8_0", "int8"), ("Q4_0", "int4"))
RUNTIME_ORDER = {LLAMACPP: 0, ONNXRUNTIME: 1}
RUNNERS = {"native-llm": "the LLM runner on libllama", "native-ort": "the native runner on ONNX Runtime",
           "python-agent": "ONNX Runtime through the Python agent, which adds its per-call cost to each decode step"}


@dataclass
class LlmTable:
    rows: pd.DataFrame  # one per llm cell: ROW_KEYS, runner, status, the tests, ttft_ms, VALUES' columns
    tests: list[str]  # the pp/tg columns, pp before tg, by depth then length
    ttft: str | None  # the TTFT column's test (e.g. "ttft64_ms"): the first prompt length measured
    pairs: pd.DataFrame  # one per device x workload x PAIRS entry with both cells ok: "gguf" / "onnx" sides
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.rows.empty


def _result(text: Any) -> dict[str, Any]:
    try:
        out = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        return {}
    return out if isinstance(out, dict) else {}


def _test_order(name: str) -> tuple[int, int, int]:
    m = TEST.match(name)
    assert m is not None
    return (m["kind"] == "tg", int(m["depth"]), int(m["n"]))


def llm_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells of llm workloads (a workload any of whose cells ran the llm job kind, failed ones too),
    with their runtime and runner from the result."""
    if cells.empty:
        return cells.assign(runtime=[], runner=[])
    results = [_result(r) for r in cells["result_json"]]
    is_llm = [r.get("job_kind") == "llm" for r in results]
    workloads = set(cells.loc[is_llm, "workload"])
    keep = cells["workload"].isin(workloads).to_numpy()
    runtime = [str((r.get("runtime") or {}).get("name") or ONNXRUNTIME) if isinstance(r.get("runtime"), dict)
               else ONNXRUNTIME for r in results]
    runner = [r.get("runner") for r in results]
    return cells.assign(runtime=runtime, runner=runner)[keep].reset_index(drop=True)


def llm_table(cells: pd.DataFrame, metrics: pd.DataFrame) -> LlmTable:
    """``cells``: Store.cells_frame rows (one per device x workload x precision x backend);
    ``metrics``: Store.metrics_frame rows of those cells."""
    llm = llm_cells(cells)
    skipped = llm[llm["status"] == "skipped"]  # nothing ran: no row (its runtime is only the backend's)
    llm = llm[llm["status"] != "skipped"]
    if llm.empty:
        return LlmTable(pd.DataFrame(columns=[*ROW_KEYS, "runner", "status"]), [], None, pd.DataFrame())
    mine = metrics[metrics["cell_id"].isin(set(llm["id"]))]
    wide = mine.pivot_table(index="cell_id", columns="metric", values="value", aggfunc="first")
    tests = sorted((m for m in wide.columns if TEST.match(str(m))), key=_test_order)
    ttfts = sorted((m for m in wide.columns if TTFT.match(str(m))), key=lambda m: int(TTFT.match(m)["n"]))  # type: ignore[index]
    ttft = ttfts[0] if ttfts else None
    rows = []
    for c in llm.itertuples(index=False):
        got = wide.loc[c.id] if c.id in wide.index else pd.Series(dtype=float)
        row: dict[str, Any] = {k: getattr(c, k) for k in ROW_KEYS}
        row.update(runner=c.runner, status=c.status, error=c.error if c.status != "ok" else None)
        row.update({t: got.get(t) for t in tests})
        row["ttft_ms"] = got.get(ttft) if ttft else None
        row.update({col: got.get(metric) for metric, col in VALUES.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    frame = frame.assign(_r=frame["runtime"].map(lambda r: RUNTIME_ORDER.get(r, 9)),
                         _p=frame["precision"].map(_precision_order))
    frame = frame.sort_values(["device", "workload", "_r", "_p", "backend"]).drop(columns=["_r", "_p"])
    frame = frame.reset_index(drop=True).astype({c: float for c in [*tests, "ttft_ms", *VALUES.values()]})
    return LlmTable(frame, tests, ttft, llm_pairs(frame, tests), _notes(frame) + _skipped_note(skipped))


def llm_pairs(rows: pd.DataFrame, tests: list[str]) -> pd.DataFrame:
    """The same weights on llama.cpp and ONNX Runtime, like for like (PAIRS), on each device: both
    sides' quality against the one reference, and ONNX Runtime's tok/s over llama.cpp's per test."""
    out = []
    ok = rows[rows["status"] == "ok"]
    for (device, workload), g in ok.groupby(["device", "workload"], sort=True):
        for gguf, onnx in PAIRS:
            a = g[(g["runtime"] == LLAMACPP) & (g["precision"] == gguf)]
            b = g[(g["runtime"] == ONNXRUNTIME) & (g["precision"] == onnx)]
            if a.empty or b.empty:
                continue
            x, y = a.iloc[0], b.iloc[0]
            pair: dict[str, Any] = {"device": device, "workload": workload, "gguf": gguf, "onnx": onnx}
            for col in ("kl_mean", "top1", "ppl", "greedy"):
                pair[f"{col} gguf"], pair[f"{col} onnx"] = x[col], y[col]
            for t in tests:
                pair[f"{t} ratio"] = (y[t] / x[t]) if pd.notna(x[t]) and pd.notna(y[t]) and x[t] > 0 else None
            out.append(pair)
    return pd.DataFrame(out)


def _precision_order(precision: str) -> int:
    return PRECISIONS.index(precision) if precision in PRECISIONS else len(PRECISIONS)


def _skipped_note(skipped: pd.DataFrame) -> list[str]:
    """The precisions planned but not run, per device, so a reader knows they are missing on purpose."""
    out = [f"{device}: {', '.join(sorted(set(g['precision']), key=_precision_order))}"
           for device, g in skipped.groupby("device", sort=True)]
    return [f"skipped (see the run's table for why): {'; '.join(out)}"] if out else []


def _notes(rows: pd.DataFrame) -> list[str]:
    notes = ["tok/s: median of the repetitions (higher is better); quality vs the reference precision on the "
             "same token ids (KL mean in nats, top-1 agreement, perplexity, greedy-continuation agreement)"]
    if rows["energy_mj_per_token"].isna().all() and rows["prefill_mj_per_token"].isna().all():
        notes.append("energy/token: – (no power source on these devices)")
    else:
        notes.append("energy mJ/token, net of idle: tg = the tg windows' energy / the tokens generated in them; "
                     "pp = the pp windows' energy / the prompt tokens processed in them")
    runners = sorted({str(r) for r in rows["runner"].dropna()})
    if runners:
        notes.append("runners: " + "; ".join(f"{r}: {RUNNERS[r]}" if r in RUNNERS else r for r in runners))
    return notes
