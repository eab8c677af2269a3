"""Load a results matrix from the store: which cells (runs, builds, the latest per device),
their metrics and headline samples, and cross-device agreement against a reference device.

A reference: a run id, a build id (per device, its latest run of that build) or ``latest``.
Several references are merged; where two hold the same device x workload x precision x
backend, the newer run's cell is shown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

import pandas as pd

from harness.analysis.compare import MEASURED
from harness.analysis.fidelity import XPLAT_MAX_ABS, XPLAT_REL_L2, xplat_method, xplat_metrics
from harness.analysis.results_matrix import (
    HOST_REFERENCE,
    Agreement,
    ResultsMatrix,
    cell_runtime,
    headline_metrics,
    results_matrix,
)
from harness.errors import HarnessError
from harness.results.history_source import HISTORY_RUN_KINDS
from harness.results.kept_outputs import load_outputs
from harness.results.store import Store
from harness.runtimes.registry import ONNXRUNTIME
from harness.views.file_cells import CELL_FRAME, METRIC_FRAME, FileCells, is_file_ref, load_files

IDENTITY = ["device", "workload", "precision", "backend"]
PLANNED_COLUMNS = [*IDENTITY, "status", "reason", "run_id", "runtime"]


@dataclass(frozen=True)
class Part:
    """The cells of one run, of one device or (device None) of all its devices."""

    run_id: str
    device: str | None = None


@dataclass
class Selection:
    cells: pd.DataFrame  # Store.cells_frame rows, one per device x workload x precision x backend
    planned: pd.DataFrame  # plan entries with no stored cell (PLANNED_COLUMNS)


def resolve_parts(store: Store, refs: Sequence[str]) -> list[Part]:
    runs = store.list_runs()
    if not runs:
        raise HarnessError(f"no runs in {store.shown}")
    ids = {r["run_id"] for r in runs}
    parts: list[Part] = []
    for ref in refs:
        if ref == "latest":
            parts.append(Part(runs[0]["run_id"]))
        elif ref in ids:
            parts.append(Part(ref))
        else:
            build_runs = [r["run_id"] for r in runs if r.get("build_id") == ref]
            if not build_runs:
                raise HarnessError(f"{ref!r} is not a run id or a build id in {store.shown} (see `harness results`)")
            parts += _latest_run_per_device(store, build_runs)
    return parts


def _latest_run_per_device(store: Store, run_ids: Sequence[str]) -> list[Part]:
    cells = store.cell_index(run_ids)
    if cells.empty:
        return [Part(r) for r in run_ids]
    newest = cells.sort_values(["run_created_at", "id"]).drop_duplicates("device", keep="last")
    return [Part(str(r), str(d)) for r, d in zip(newest["run_id"], newest["device"])]


def latest_parts(store: Store) -> list[Part]:
    """The site's choice: each device's latest history run (ab/calibrate runs left out)."""
    runs = [r["run_id"] for r in store.list_runs() if r.get("kind", "run") in HISTORY_RUN_KINDS]
    return _latest_run_per_device(store, runs) if runs else []


def select(store: Store, parts: Sequence[Part]) -> Selection:
    run_ids = sorted({p.run_id for p in parts})
    cells = store.cells_frame(run_ids)
    wanted = [(cells["run_id"] == p.run_id) & (cells["device"] == p.device if p.device else True) for p in parts]
    mask = pd.concat(wanted, axis=1).any(axis=1) if wanted and not cells.empty else pd.Series(False, index=cells.index)
    cells = cells[mask].sort_values(["run_created_at", "id"]).drop_duplicates(IDENTITY, keep="last")
    have = set(map(tuple, cells[IDENTITY].astype(str).to_numpy()))
    planned: list[dict[str, Any]] = []
    for p in parts:
        for entry in store.get_run(p.run_id)["plan"]:
            if not isinstance(entry, dict) or any(not isinstance(entry.get(k), str) for k in IDENTITY):
                continue  # a plan entry without its identity (stores written by other tools) says nothing
            ident = tuple(str(entry.get(k)) for k in IDENTITY)
            if (p.device is None or entry.get("device") == p.device) and ident not in have:
                have.add(ident)
                planned.append({**{k: entry.get(k) for k in IDENTITY}, "status": entry.get("status"),
                                "reason": entry.get("reason"), "run_id": p.run_id,
                                "runtime": entry.get("runtime") or ONNXRUNTIME})
    return Selection(cells.reset_index(drop=True), pd.DataFrame(planned, columns=PLANNED_COLUMNS))


def select_cells(store: Store, cell_ids: Sequence[int], runs: Sequence[str]) -> Selection:
    """Exactly these cells (of these runs), nothing planned: the farm's state."""
    cells = store.cells_frame(sorted(set(runs))) if runs else store.cells_frame([])
    cells = cells[cells["id"].isin(set(cell_ids))].sort_values(["run_created_at", "id"])
    return Selection(cells.reset_index(drop=True), pd.DataFrame(columns=PLANNED_COLUMNS))


def matrix_of(store: Store | None, selection: Selection, *, metric: str | None = None,
              columns: Sequence[str] | None = None, reference: str | None = None,
              cell_badges: Mapping[int, Sequence[tuple[str, str, str]]] | None = None,
              files: FileCells | None = None) -> ResultsMatrix:
    """The matrix of the selected stored cells and of ``files``' cells (result files, see views.file_cells)."""
    stored = selection.cells
    if store is not None:
        metrics = store.metrics_frame(sorted(set(stored["run_id"]))) if not stored.empty else store.metrics_frame([])
        metrics = metrics[metrics["cell_id"].isin(set(stored["id"]))]
    else:
        metrics = pd.DataFrame(columns=METRIC_FRAME)
    cells = stored
    if files is not None and not files.cells.empty:
        cells = files.cells if stored.empty else pd.concat([stored, files.cells], ignore_index=True)
        metrics = files.metrics if metrics.empty else pd.concat([metrics, files.metrics], ignore_index=True)
    heads = headline_metrics(metrics, metric)
    samples = {}
    measured = stored[stored["status"].isin(MEASURED)]
    for workload, series in heads.items():
        ids = measured.loc[measured["workload"] == workload, "id"].tolist()
        if store is not None and ids:
            samples.update(store.samples_for(ids, series))
    if files is not None:
        samples.update(files.samples)
    try:
        if reference and reference != "host":
            if store is None:
                raise HarnessError(f"--reference {reference!r}: agreement with a device needs stored runs (outputs "
                                   "are kept in the store, not in result files)")
            agreement = device_agreement(store, cells, reference)
            return results_matrix(cells, metrics, samples, planned=selection.planned, metric=metric, columns=columns,
                                  agreement=agreement, reference=reference, reference_method=xplat_method(reference))
        return results_matrix(cells, metrics, samples, planned=selection.planned, metric=metric, columns=columns,
                              reference=HOST_REFERENCE, cell_badges=cell_badges)
    except ValueError as exc:  # an unknown column name
        raise HarnessError(str(exc)) from exc


def only_runtimes(selection: Selection, patterns: Sequence[str]) -> Selection:
    """The selection's cells and plan entries whose runtime matches a glob (all, with none)."""
    if not patterns:
        return selection
    cells = selection.cells
    keep = [any(fnmatchcase(cell_runtime(r), p) for p in patterns) for r in cells["result_json"]]
    planned = selection.planned
    keep_planned = [any(fnmatchcase(str(r or ONNXRUNTIME), p) for p in patterns) for r in planned["runtime"]]
    return Selection(cells[keep].reset_index(drop=True) if len(cells) else cells,
                     planned[keep_planned].reset_index(drop=True) if len(planned) else planned)


def load_results_matrix(store: Store | None, refs: Sequence[str], *, metric: str | None = None,
                        columns: Sequence[str] | None = None, reference: str | None = None,
                        runtimes: Sequence[str] = ()) -> ResultsMatrix:
    """`harness table REF...`: the matrix of the cells the references name (of the runtimes matching
    ``runtimes``, globs, when given). A reference that is a file is a result file (a llama-bench
    ``-o json`` file, a pytest-benchmark file, a JSON export): its cells sit beside the stored ones."""
    file_refs = [r for r in refs if is_file_ref(r)]
    store_refs = [r for r in refs if r not in file_refs]
    if store_refs and store is None:
        raise HarnessError(f"{', '.join(store_refs)}: not a result file, and there is no results store to find "
                           "runs in (harness run makes one)")
    selection = select(store, resolve_parts(store, store_refs)) if store is not None and store_refs else \
        Selection(pd.DataFrame(columns=CELL_FRAME), pd.DataFrame(columns=PLANNED_COLUMNS))
    files = only_runtimes_files(load_files(file_refs), runtimes)
    return matrix_of(store, only_runtimes(selection, runtimes), metric=metric, columns=columns,
                     reference=reference, files=files)


def only_runtimes_files(files: FileCells, patterns: Sequence[str]) -> FileCells:
    """The files' cells of the runtimes matching a glob (all, with none)."""
    if not patterns or files.cells.empty:
        return files
    keep = only_runtimes(Selection(files.cells, pd.DataFrame(columns=PLANNED_COLUMNS)), patterns).cells
    ids = set(keep["id"])
    return FileCells(keep, files.metrics[files.metrics["cell_id"].isin(ids)].reset_index(drop=True),
                     {k: v for k, v in files.samples.items() if k[0] in ids})


def run_results_matrix(store: Store, run_id: str) -> ResultsMatrix:
    """One run's matrix (the run report)."""
    return matrix_of(store, select(store, [Part(run_id)]))


# ---------------------------------------------------------------------------- agreement with a device
def _job_kind(result_json: Any) -> str:
    try:
        return str(json.loads(result_json).get("job_kind") or "single")
    except (TypeError, ValueError, AttributeError):
        return "single"


def device_agreement(store: Store, cells: pd.DataFrame, reference: str) -> dict[int, Agreement]:
    """Each measured cell's outputs vs the reference device's outputs of the same workload and
    precision (same backend when it has it), from the outputs kept in the store: same artifact
    and same inputs, or no number and the reason why."""
    if not (cells["device"] == reference).any():
        raise HarnessError(f"--reference {reference!r}: no such device among the selected cells "
                           f"({', '.join(sorted(set(cells['device']))) or 'none'}); 'host' is the default")
    measured = cells[cells["status"].isin(MEASURED)]
    ref = measured[measured["device"] == reference].sort_values("backend")
    others = measured[measured["device"] != reference]
    kept = load_outputs(store, [*ref["id"], *others["id"]])
    method = xplat_method(reference)
    out: dict[int, Agreement] = {}
    for c in others.itertuples(index=False):
        cands = ref[(ref["workload"] == c.workload) & (ref["precision"] == c.precision)]
        if cands.empty:
            out[int(c.id)] = Agreement(reason=f"{reference} has no measured {c.precision} cell of {c.workload}")
            continue
        same = cands[cands["backend"] == c.backend]
        r = (same if len(same) else cands).iloc[0]
        mine, theirs = kept.get(int(c.id)), kept.get(int(r["id"]))
        if c.artifact_sha256 != r["artifact_sha256"]:
            out[int(c.id)] = Agreement(reason=f"another artifact than {reference}'s (another build)")
        elif mine is None or theirs is None:
            out[int(c.id)] = Agreement(reason="outputs not kept (a store from before they were, or over the size cap)")
        elif mine.inputs_sha256 != theirs.inputs_sha256:
            out[int(c.id)] = Agreement(reason=f"other inputs than {reference}'s")
        else:
            try:
                vals = {m.name: m.value for m in xplat_metrics(_job_kind(c.result_json), theirs.arrays, mine.arrays,
                                                                method)}
            except ValueError as exc:  # other output names or shapes
                out[int(c.id)] = Agreement(reason=str(exc))
            else:
                out[int(c.id)] = Agreement(vals.get(XPLAT_REL_L2), vals.get(XPLAT_MAX_ABS))
    return out
