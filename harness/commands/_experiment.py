"""Run one build's plan as a single run through the session runner (shared by ab and calibrate)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.plan import Filters
from harness.results.store import Store


def filters(device: Sequence[str], workload: Sequence[str], precision: Sequence[str],
            backend: Sequence[str]) -> tuple[Filters, list[Path]]:
    files = [Path(d) for d in device if d.endswith((".yaml", ".yml"))]
    globs = [d for d in device if not d.endswith((".yaml", ".yml"))]
    return Filters(tuple(globs), tuple(workload), tuple(precision), tuple(backend)), files


def run_once(store: Store, *, build: str, flt: Filters, device_files: Sequence[Path], kind: str,
             labels: dict[str, Any], devices_dir: Path | None, workloads_dir: Path | None,
             test_slowdown: float, console: Console, what: str, lock_wait_s: float = 0.0) -> str:
    from harness.commands._waiting import WaitLine
    from harness.session.launch import RunRequest, execute, prepare_run

    req = RunRequest(filters=flt, build=build, devices_dir=devices_dir, workloads_dir=workloads_dir,
                     device_files=device_files, kind=kind, labels=labels, test_slowdown=test_slowdown,
                     lock_wait_s=lock_wait_s, check_first=True)
    prep = prepare_run(req, store)
    waits = WaitLine(console)
    try:
        outcome = execute(prep, waits.on_event)
    finally:
        waits.close()
    statuses = ", ".join(f"{n} {s}" for s, n in sorted(outcome.statuses.items()))
    console.print(f"{what}: run {prep.run_id} (build {prep.ctx.manifest.build_id}) {statuses} "
                  f"in {outcome.wall_s:.1f} s", highlight=False, markup=False)
    return prep.run_id
