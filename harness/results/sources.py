"""Resolve a compare argument to one comparison side: every run it names, with raw samples.

A side is one or more references separated by commas (``RUN1,RUN2,RUN3``); a reference is a run id
or a run reference (``latest``, ``latest~N``: that run), a build id (every run of that build: several
runs are the evidence a verdict needs) or a result file: a JSON export (``harness export --format
json``) or a pytest-benchmark JSON file, each one run. Nothing here judges: the frames go to
``analysis.compare``.

Files are untrusted input: anything malformed is a HarnessError that names the file and the place
in it (``cells[3].metrics[1].value``), never a crash.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from harness.config.locations import default_store
from harness.errors import HarnessError
from harness.records import (
    CELL_COLUMNS,
    CELL_KEY,
    CONTENTION_METRIC,
    CPU_COUNT_METRIC,
    SIDE_COLUMNS,
    Side,
    flag_codes,
    throttle_note,
)
from harness.results.exporters.llama_bench import is_llama_bench, side_from_llama_bench
from harness.results.exporters.pytest_benchmark import is_pytest_benchmark, read_pytest_benchmark
from harness.results.identity import config_identity
from harness.results.run_refs import RunFilter, parse_ref, resolve_run
from harness.results.store import Store
from harness.results.untrusted import need, number, sample_array, text

REF_SEPARATOR = ","


def open_existing(target: str | None) -> Store | None:
    """The results store if it exists, else None: a comparison of two files must not create one."""
    text = str(target or default_store())
    if text.startswith("sqlite:///"):
        return Store(text) if Path(text.removeprefix("sqlite:///")).is_file() else None
    if "://" in text:
        return Store(text)  # a database server: opening it creates nothing on this machine
    return Store(text) if Path(text).expanduser().is_file() else None


def side_refs(spec: str) -> list[str]:
    """The references of one side: a path that exists is one reference even if it holds a comma."""
    if Path(spec).is_file():
        return [spec]
    refs = [r.strip() for r in spec.split(REF_SEPARATOR)]
    if not all(refs):
        raise HarnessError(f"{spec!r}: an empty reference between commas")
    return refs


def resolve_side(spec: str, store: Store | None, *, which: str = "A", counted: RunFilter = RunFilter()) -> Side:
    """One side from ``spec`` (see the module doc); ``which`` names it in errors; ``counted`` narrows which
    runs ``latest`` / ``latest~N`` count (see results.run_refs)."""
    parts: list[Side] = []
    runs_known: list[dict[str, Any]] | None = None
    for ref in side_refs(spec):
        path = Path(ref)
        if path.is_file():
            parts.append(side_from_file(path))
            continue
        if store is not None and parse_ref(ref) is not None:
            run_id = resolve_run(store, ref, counted)
            parts.append(side_from_runs(store, [run_id], label=f"run {run_id} ({ref})"))
            continue
        if store is not None:
            runs_known = runs_known if runs_known is not None else store.list_runs()
            run_ids = [r["run_id"] for r in runs_known if r["run_id"] == ref]
            if run_ids:
                parts.append(side_from_runs(store, run_ids, label=f"run {ref}"))
                continue
            build_runs = [r["run_id"] for r in sorted(runs_known, key=lambda r: r["created_at"])
                          if r.get("build_id") == ref]
            if build_runs:
                many = f"{len(build_runs)} runs" if len(build_runs) > 1 else "1 run"
                parts.append(side_from_runs(store, build_runs, label=f"build {ref} ({many})"))
                continue
        where = f" in {store.shown}" if store is not None else ""
        raise HarnessError(f"{which}: {ref!r} is not a run id, a build id{where}, a run reference (latest, latest~N) "
                           f"or a result file")
    return merge_sides(parts, label=" + ".join(p.label for p in parts))


def merge_sides(parts: Sequence[Side], *, label: str) -> Side:
    """Several sources of one side as one side; a run named twice counts once."""
    if len(parts) == 1:
        return Side(label, parts[0].metrics, parts[0].cells, list(parts[0].runs))
    runs: list[str] = []
    metrics, cells = [], []
    for p in parts:
        fresh = [r for r in p.runs if r not in runs]
        runs += fresh
        metrics.append(p.metrics[p.metrics["run_id"].isin(fresh)])
        cells.append(p.cells[p.cells["run_id"].isin(fresh)])
    return Side(label, pd.concat(metrics, ignore_index=True), pd.concat(cells, ignore_index=True), runs)


# ---------------------------------------------------------------------------- the store
def _result(text: Any) -> dict[str, Any]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def side_from_runs(store: Store, run_ids: Sequence[str], *, label: str,
                   rounds: Mapping[str, int] | None = None) -> Side:
    """The cells, metrics and raw samples of these runs (``rounds``: run id -> round, for ``ab``)."""
    cells = store.cells_frame(run_ids)
    cells = cells.assign(device_fingerprint=cells["device_fingerprint"].fillna(""))
    metrics = store.metrics_frame(run_ids)
    contention = metrics[metrics["metric"] == CONTENTION_METRIC].set_index("cell_id")["value"].to_dict()
    cpu_counts = metrics[metrics["metric"] == CPU_COUNT_METRIC].set_index("cell_id")["value"].to_dict()
    judged = metrics[metrics["kind"].isin(["noisy", "deterministic"])]
    raw = store.samples_for(judged.loc[judged["kind"] == "noisy", "cell_id"].unique().tolist())
    per_cell: dict[int, dict[str, Any]] = {}
    for c in cells.to_dict("records"):
        result = _result(c.get("result_json"))
        per_cell[int(c["id"])] = {"config": config_identity(result, c.get("ep_requested")),
                                  "flags": flag_codes(result.get("flags")), "error": c.get("error"),
                                  "throttle": throttle_note(result.get("flags"))}
    rows = []
    for rec in judged.to_dict("records"):
        cid = int(rec["cell_id"])
        info = per_cell.get(cid, {})
        cores = contention.get(cid)
        rows.append({**{k: rec.get(k) for k in ("run_id", "cell_id", "device", "workload", "precision", "backend",
                                                 "build_id",
                                                 "artifact_sha256", "metric", "unit", "method", "status", "kind",
                                                 "value")},
                     "device_fingerprint": rec.get("device_fingerprint") or "",
                     "round": (rounds or {}).get(rec["run_id"]), "error": info.get("error"),
                     "samples": raw.get((cid, rec["metric"])), "stats": None, "config": info.get("config"),
                     "flags": info.get("flags", ()), "contention_cores": None if cores is None else float(cores),
                     "cpu_count": cpu_counts.get(cid), "throttle": info.get("throttle")})
    order = {r: i for i, r in enumerate(run_ids)}
    frame = pd.DataFrame(rows, columns=SIDE_COLUMNS)
    if not frame.empty:
        frame = frame.sort_values("run_id", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    cells = cells.rename(columns={"id": "cell_id"})
    return Side(label=label, metrics=frame, cells=cells[CELL_COLUMNS].reset_index(drop=True), runs=list(run_ids))


# ---------------------------------------------------------------------------- files
def side_from_file(path: Path) -> Side:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        raise HarnessError(f"{path}: cannot read a result file: {exc}") from exc
    if is_llama_bench(doc):
        return side_from_llama_bench(path, doc)
    if is_pytest_benchmark(doc):
        metrics, cells = read_pytest_benchmark(doc, where=str(path))
        run_id = _file_run_id(doc.get("commit_info"), "harness_run_id", path)
    elif isinstance(doc, dict) and "cells" in doc:
        metrics, cells = _read_export(doc, path)
        run_id = _file_run_id(doc.get("run"), "run_id", path)
    else:
        raise HarnessError(f"{path}: not a harness JSON export (no 'cells' list), a pytest-benchmark file "
                           "('benchmarks' list and 'machine_info') nor a llama-bench -o json file (a list of tests "
                           "with n_prompt, n_gen, samples_ts)")
    metrics = metrics.assign(run_id=run_id, cell_id=None)
    cells = cells.assign(run_id=run_id, cell_id=None)
    return Side(label=f"file {path.name}", metrics=metrics.reindex(columns=SIDE_COLUMNS), cells=cells[CELL_COLUMNS],
                runs=[run_id])  # reindex: a file has no column for what it cannot carry (cpu_count)


def _file_run_id(section: Any, field: str, path: Path) -> str:
    """The run a file holds: its own id when it has one, else the file; the path keeps two files apart."""
    rid = section.get(field) if isinstance(section, Mapping) else None
    return f"{rid} ({path})" if isinstance(rid, str) and rid else str(path)


def _read_export(doc: dict[str, Any], path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The JSON export of a run: {"run": {...}, "cells": [{identity..., "metrics": [...], "samples": {...}}]}."""
    src = str(path)
    cells_in = need(doc["cells"], list, f"{src}: cells", "a list of cells")
    rows, cells = [], []
    for i, cell in enumerate(cells_in):
        at = f"{src}: cells[{i}]"
        need(cell, dict, at, "an object")
        ident = {k: text(cell.get(k), f"{at}.{k}") for k in ("device", "workload", "precision", "backend")}
        ident.update({k: text(cell.get(k), f"{at}.{k}", required=False)
                      for k in ("build_id", "artifact_sha256", "error", "device_fingerprint")})
        ident["status"] = text(cell.get("status"), f"{at}.status")
        ident["device_fingerprint"] = ident["device_fingerprint"] or ""
        result = cell.get("result") if isinstance(cell.get("result"), dict) else {}
        ep = text(cell.get("ep_requested"), f"{at}.ep_requested", required=False)
        flags = _flags(result.get("flags"), at)
        extra = {"config": config_identity(result, ep), "flags": flag_codes(flags), "throttle": throttle_note(flags),
                 "round": None, "stats": None, "contention_cores": None, "cpu_count": None}
        cells.append({k: ident[k] for k in (*CELL_KEY, "device", "status", "error")})
        samples = cell.get("samples") if cell.get("samples") is not None else {}
        need(samples, dict, f"{at}.samples", "an object of metric name -> samples")
        cell_rows = []
        for j, m in enumerate(_metric_list(cell.get("metrics"), f"{at}.metrics")):
            mat = f"{at}.metrics[{j}]"
            name = text(m.get("name"), f"{mat}.name")
            kind = text(m.get("kind"), f"{mat}.kind", required=False) or "noisy"
            raw = samples.get(name)
            cell_rows.append({**ident, **extra, "metric": name, "unit": text(m.get("unit"), f"{mat}.unit", required=False),
                              "method": text(m.get("method"), f"{mat}.method", required=False), "kind": kind,
                              "value": number(m.get("value"), f"{mat}.value"),
                              "samples": None if raw is None else sample_array(raw, f"{at}.samples[{name!r}]")})
        cores = next((r["value"] for r in cell_rows if r["metric"] == CONTENTION_METRIC), None)
        count = next((r["value"] for r in cell_rows if r["metric"] == CPU_COUNT_METRIC), None)
        for r in cell_rows:
            r["contention_cores"] = cores
            r["cpu_count"] = count
        rows += [r for r in cell_rows if r["kind"] in ("noisy", "deterministic")]
    return pd.DataFrame(rows, columns=[c for c in SIDE_COLUMNS if c != "run_id"]), \
        pd.DataFrame(cells, columns=[*CELL_KEY, "device", "status", "error"])


def _flags(flags: Any, at: str) -> list[Any]:
    if flags is None:
        return []
    return list(need(flags, list, f"{at}.result.flags", "a list of flags"))


def _metric_list(metrics: Any, where: str) -> list[dict[str, Any]]:
    if metrics is None:
        return []
    if isinstance(metrics, dict):  # {"name": {"value":..., "unit":...}} is accepted too
        out = []
        for k, v in metrics.items():
            need(v, dict, f"{where}[{k!r}]", "an object")
            out.append({**v, "name": k})
        return out
    need(metrics, list, where, "a list of metrics")
    for j, m in enumerate(metrics):
        need(m, dict, f"{where}[{j}]", "an object")
    return list(metrics)
