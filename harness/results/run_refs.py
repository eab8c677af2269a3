"""Naming runs: the one resolver for ``latest`` / ``latest~N`` and the run listing it counts in.

``latest`` is the newest run, ``latest~1`` the one before it, and so on (git's ``HEAD~N``),
counted in the order and under the filters of `harness results`: newest first, optionally
only runs of a build, of a kind, or whose plan has a device / workload matching a glob.
Every command that names a run resolves it here, so `harness results -d pixel7` lists
exactly what `latest~N -d pixel7` counts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import func, select

from harness.errors import HarnessError
from harness.results import schema as S
from harness.results.store import Store

LATEST = "latest"
_REF = re.compile(r"latest(?:~(\d{1,6}))?")


@dataclass(frozen=True)
class RunFilter:
    """Which runs count: globs on the build id, the run kind and the plan's devices / workloads."""

    build: Sequence[str] = ()
    kind: Sequence[str] = ()
    device: Sequence[str] = ()
    workload: Sequence[str] = ()

    def describe(self) -> str:
        parts = [f"{name} {' or '.join(globs)}" for name, globs in
                 (("build", self.build), ("kind", self.kind), ("device", self.device), ("workload", self.workload))
                 if globs]
        return " with " + ", ".join(parts) if parts else ""

    def accepts(self, run: dict[str, Any], names: tuple[list[str], list[str]] | None = None) -> bool:
        """``names``: the run's (devices, workloads); by default those of its plan."""
        if not _any(self.build, [str(run.get("build_id") or "")]):
            return False
        if not _any(self.kind, [str(run.get("kind") or "")]):
            return False
        if not self.device and not self.workload:
            return True
        devices, workloads = names or planned_names(run)
        return _any(self.device, devices) and _any(self.workload, workloads)


def _any(globs: Sequence[str], values: Iterable[str]) -> bool:
    return not globs or any(fnmatchcase(v, g) for v in values for g in globs)


def _plan_cell(entry: Any) -> tuple[str, str]:
    """(device, workload) of one planned cell; plans written by hand may only carry the key."""
    if not isinstance(entry, dict):
        return "", ""
    if entry.get("device") is not None and entry.get("workload") is not None:
        return str(entry["device"]), str(entry["workload"])
    parts = str(entry.get("key") or entry.get("cell_key") or "").split("/")
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", "")


def parse_ref(ref: str) -> int | None:
    """``latest`` -> 0, ``latest~N`` -> N; None for anything else (a run id, a file, ...).
    Something that starts like a reference but is not one (``latest~x``) is a HarnessError."""
    m = _REF.fullmatch(ref)
    if m is not None:
        return int(m.group(1) or 0)
    if ref.startswith(LATEST + "~") or ref.lower().strip() in (LATEST, "latest~"):
        raise HarnessError(f"{ref!r}: a run reference is `latest` or `latest~N` with N a whole number "
                           f"(latest~1 is the run before the newest)")
    return None


def format_ref(back: int) -> str:
    """The reference of the run ``back`` places before the newest: ``latest``, ``latest~1``, ..."""
    return LATEST if back == 0 else f"{LATEST}~{back}"


def find_runs(store: Store, flt: RunFilter = RunFilter(), limit: int | None = None) -> list[dict[str, Any]]:
    """Runs newest first that pass the filter (at most ``limit``). A run stored without a plan
    is matched on the devices and workloads of its recorded cells."""
    if flt == RunFilter():
        return store.list_runs(limit)  # the common case: newest first, limited in the query
    runs = store.list_runs()
    planless = [r["run_id"] for r in runs if not r.get("plan")] if (flt.device or flt.workload) else []
    recorded = recorded_names(store, planless)
    out = []
    for run in runs:
        if flt.accepts(run, recorded.get(run["run_id"])):
            out.append(run)
            if limit is not None and len(out) >= limit:
                break
    return out


def resolve_run(store: Store, ref: str, flt: RunFilter = RunFilter()) -> str:
    """A run id for ``ref``: ``latest`` / ``latest~N`` counted under ``flt``, or an existing run id."""
    back = parse_ref(ref)
    if back is None:
        store.get_run(ref)  # HarnessError naming the store when there is no such run
        return ref
    runs = find_runs(store, flt, limit=back + 1)
    if len(runs) <= back:
        have = f"only {len(runs)} run(s)" if runs else "no runs"
        raise HarnessError(f"{ref}: {have}{flt.describe()} in {store.shown} (latest~N counts back from the newest, "
                           f"as `harness results` lists them)")
    return str(runs[back]["run_id"])


def planned_names(run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The devices and workloads a run planned, sorted."""
    cells = [_plan_cell(c) for c in run.get("plan") or []]
    return sorted({d for d, _ in cells if d}), sorted({w for _, w in cells if w})


def recorded_names(store: Store, run_ids: Sequence[str]) -> dict[str, tuple[list[str], list[str]]]:
    """run id -> (devices, workloads) of its recorded cells, sorted."""
    found: dict[str, tuple[set[str], set[str]]] = {}
    c = S.cells.c
    for start in range(0, len(run_ids), 500):
        q = select(c.run_id, c.device, c.workload).where(c.run_id.in_(list(run_ids[start:start + 500]))).distinct()
        with store.engine.connect() as conn:
            for run_id, device, workload in conn.execute(q):
                devices, workloads = found.setdefault(run_id, (set(), set()))
                devices.add(device)
                workloads.add(workload)
    return {r: (sorted(d), sorted(w)) for r, (d, w) in found.items()}


def cell_counts(store: Store, run_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """run id -> {status: stored cells}, one grouped query (no result blobs loaded)."""
    out: dict[str, dict[str, int]] = {}
    c = S.cells.c
    for start in range(0, len(run_ids), 500):  # keep IN lists bounded
        q = (select(c.run_id, c.status, func.count()).where(c.run_id.in_(list(run_ids[start:start + 500])))
             .group_by(c.run_id, c.status).order_by(c.run_id, c.status))
        with store.engine.connect() as conn:
            for run_id, status, n in conn.execute(q):
                out.setdefault(run_id, {})[status] = int(n)
    return out
