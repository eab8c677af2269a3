"""Prepare, execute and resume a run: configs + build + plan -> store rows.

Shared by `harness run`, `harness nightly` and `harness ab`; commands only add printing.
"""

from __future__ import annotations

import os
import platform
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from harness import __version__
from harness.builds.manifest import Manifest, load_manifest, resolve_build
from harness.builds.runtime_artifacts import ensure_runtime_artifacts
from harness.config.loader import load_devices, load_workloads
from harness.config.locations import builds_root as default_builds_root
from harness.config.models import DeviceProfile, Workload
from harness.errors import HarnessError, RunInterrupted
from harness.plan import Cell, Filters, conversions_needed, make_plan, select_devices
from harness.records import CellRecord
from harness.results.keeper import CellKeeper, StoreFault, cause_of, replay
from harness.results.run_configs import load_run_config, save_run_config
from harness.results.store import Store
from harness.session.cell_flags import fp32_first, model_origin
from harness.session.device_session import RunContext
from harness.session.host_cache import HostCache
from harness.session.identity import cell_identity
from harness.session.output_logs import run_logs_dir
from harness.session.resume_config import restore, snapshot
from harness.session.runner import Event, Runner, RunOutcome


def holder() -> dict[str, Any]:
    """Who is driving a run now (kept in its labels): a resume can tell a live run from a dead one."""
    return {"host": platform.node(), "pid": os.getpid(), "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def live_holder(who: Any) -> str | None:
    """A description of the process driving a run when it is verifiably alive: on this host, its pid
    running a harness command. A holder on another host cannot be checked from here (None)."""
    if not isinstance(who, dict) or who.get("host") != platform.node():
        return None
    try:
        pid = int(who.get("pid"))  # type: ignore[arg-type]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (TypeError, ValueError, OSError):
        return None
    if pid == os.getpid() or b"harness" not in cmdline:
        return None  # gone, or its pid reused by something else
    return f"held by pid {pid} on {who.get('host')} since {who.get('since', '?')}"


def new_run_id() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


@dataclass
class RunRequest:
    filters: Filters = field(default_factory=Filters)
    build: str | None = None  # id, folder or manifest; None: build the selected workloads now
    devices_dir: Path | None = None
    workloads_dir: Path | None = None
    device_files: Sequence[Path] = ()  # explicit device YAML files (e.g. a rig's profile)
    workload_files: Sequence[Path] = ()  # explicit workload YAML files (a user's own model)
    builds_root: Path | None = None
    kind: str = "run"
    labels: dict[str, Any] = field(default_factory=dict)
    argv: Sequence[str] = ()
    max_consecutive_failures: int | None = None
    lock_wait_s: float = 0.0  # a busy device: 0 fails its cells at once (nightly), else wait this long
    # Narrow / annotate the plan before it is stored (nightly: label rules, known failures,
    # preflight quarantine), so a crash right after create_run resumes the right plan.
    shape_plan: Callable[[list[Cell]], list[Cell]] | None = None
    test_slowdown: float = field(default_factory=lambda: float(os.environ.get("HARNESS_TEST_SLOWDOWN", "0") or 0))
    # Refuse bad input before a build or a run exists (`harness run`): precision / backend names, and each
    # workload against its model, as `harness validate` checks it. The nightly keeps a bad workload's
    # cells as failed cells instead, so one bad file never stops a farm.
    check_first: bool = False


@dataclass
class PreparedRun:
    run_id: str
    store: Store
    ctx: RunContext
    profiles: dict[str, DeviceProfile]
    cells: list[Cell]  # the whole plan, skipped cells included
    todo: list[Cell]  # planned cells not yet in the store
    max_consecutive_failures: int | None = None
    notes: list[str] = field(default_factory=list)  # for the user: e.g. a config file changed since the run began


def _load_profiles(req: RunRequest) -> dict[str, tuple[DeviceProfile, Path]]:
    profiles = dict(load_devices(req.devices_dir)) if not req.device_files else {}
    if req.device_files:
        from harness.config.loader import load_device

        for path in req.device_files:
            prof = load_device(Path(path))
            profiles[prof.name] = (prof, Path(path))
    return profiles


def _select_workloads(req: RunRequest) -> dict[str, tuple[Workload, Path]]:
    """Workload files given by path, plus the workloads folder's that match the name globs
    (the folder is read only when there are globs, or no files)."""
    from harness.config.loader import load_workload
    from harness.plan import matches

    chosen: dict[str, tuple[Workload, Path]] = {}
    known: list[str] = []
    if req.filters.workload or not req.workload_files:
        all_wl = load_workloads(req.workloads_dir)
        known = sorted(all_wl)
        chosen = {n: v for n, v in all_wl.items() if matches(n, req.filters.workload)
                  and (req.filters.workload or not v[0].on_demand)}  # on-demand ones only by name
    for path in req.workload_files:
        wl = load_workload(Path(path))
        chosen[wl.name] = (wl, Path(path))
    if not chosen:
        raise HarnessError(
            f"no workload matches {list(req.filters.workload)}; known: {', '.join(known) or '(none)'}"
            + ("; a workload file is given by path: -w path/to/workload.yaml" if req.filters.workload else "")
        )
    return chosen


def _check_before_building(req: RunRequest, devices: Sequence[DeviceProfile],
                           workloads: dict[str, tuple[Workload, Path]]) -> None:
    from harness.builds.io_check import check_inputs
    from harness.errors import ConfigError
    from harness.plan import unknown_names

    problems = unknown_names(req.filters, devices, [w for w, _ in workloads.values()])
    problems += [str(p) for wl, path in workloads.values() for p in check_inputs(wl, path)]
    if problems:
        raise ConfigError("\n".join(problems))


def _obtain_build(req: RunRequest, workloads: dict[str, tuple[Workload, Path]], builds_root: Path) -> Path:
    if req.build:
        return resolve_build(req.build, builds_root)
    from harness.builds.builder import build

    return build(list(workloads.values()), builds_root)


def prepare_run(req: RunRequest, store: Store) -> PreparedRun:
    all_profiles = _load_profiles(req)
    devices = select_devices([p for p, _ in all_profiles.values()], list(req.filters.device))
    if not devices:
        raise HarnessError(
            f"no device matches {list(req.filters.device) or '(default: non-example profiles)'}; "
            f"known: {', '.join(sorted(all_profiles)) or '(none)'}"
        )
    workloads = _select_workloads(req)
    if req.check_first:
        _check_before_building(req, devices, workloads)
    builds_root = req.builds_root or default_builds_root()
    build_dir = _obtain_build(req, workloads, builds_root)
    manifest = load_manifest(build_dir)
    # the workloads are chosen already (globs and files): the plan filters the other axes
    cells = make_plan(devices, [w for w, _ in workloads.values()], replace(req.filters, workload=()), manifest)
    if needs := conversions_needed(cells):  # runtimes other than ONNX Runtime: converted on the host, once
        manifest = ensure_runtime_artifacts(build_dir, needs, workloads)
        cells = make_plan(devices, [w for w, _ in workloads.values()], replace(req.filters, workload=()), manifest)
    if req.shape_plan is not None:
        cells = req.shape_plan(cells)
    if not cells:
        raise HarnessError("the plan is empty: no (device, workload, precision, backend) matches the filters")
    run_id = new_run_id()
    labels = {
        **req.labels,
        "build_dir": str(build_dir.resolve()),
        "device_files": {p.name: str(path.resolve()) for p, path in (all_profiles[d.name] for d in devices)},
        "workload_files": {n: str(path.resolve()) for n, (_, path) in workloads.items()},
        "test_slowdown": req.test_slowdown,
        "holder": holder(),
    }
    store.create_run(
        run_id,
        [c.to_dict() for c in cells],
        build_id=manifest.build_id,
        kind=req.kind,
        argv=req.argv,
        labels=labels,
        host=platform.node(),
        harness_version=__version__,
    )
    save_run_config(store, run_id, snapshot({d.name: d for d in devices}, workloads))  # what --resume runs with
    ctx = RunContext(run_id, build_dir, manifest, workloads, HostCache(build_dir, manifest), req.test_slowdown,
                     lock_wait_s=req.lock_wait_s, logs_dir=run_logs_dir(store.url, run_id))
    return PreparedRun(
        run_id, store, ctx, {d.name: d for d in devices}, cells, [c for c in cells if c.status == "planned"],
        req.max_consecutive_failures,
    )


def prepare_resume(
    run_id: str, store: Store, *, max_consecutive_failures: int | None = None, lock_wait_s: float = 0.0
) -> PreparedRun:
    """Reload a run's plan and configs; todo = planned cells with no row in the store."""
    from harness.config.loader import load_device, load_workload

    run = store.get_run(run_id)
    labels = run.get("labels") or {}
    if run.get("status") == "running" and (live := live_holder(labels.get("holder"))):
        raise HarnessError(f"run {run_id} is still going: {live}. Resuming it now would measure its cells twice; "
                           f"wait for it, or stop it first (kill {labels['holder'].get('pid')}: it is then stored "
                           f"as interrupted)")
    build_dir = Path(labels.get("build_dir", ""))
    manifest: Manifest = load_manifest(build_dir)
    if manifest.build_id != run.get("build_id"):
        raise HarnessError(f"run {run_id} used build {run.get('build_id')}, but {build_dir} now holds {manifest.build_id}")
    device_files, workload_files = labels.get("device_files", {}), labels.get("workload_files", {})
    stored = load_run_config(store, run_id)
    notes: list[str] = []
    if stored is not None:  # the configuration the run started with, whatever the files say now
        profiles, workloads, notes = restore(
            stored, lambda name: load_device(Path(device_files[name])),
            lambda name: (load_workload(Path(workload_files[name])), Path(workload_files[name])))
    else:  # a run stored before configurations were kept
        profiles = {name: load_device(Path(p)) for name, p in device_files.items()}
        workloads = {name: (load_workload(Path(p)), Path(p)) for name, p in workload_files.items()}
    cells = [Cell.from_dict(c) for c in run["plan"]]
    try:
        replayed = replay(store, run_id)  # cells measured while the store was failing
    except (SQLAlchemyError, OSError) as exc:
        raise HarnessError(f"run {run_id}: the journal kept while the store was failing cannot be stored yet: "
                           f"{cause_of(exc)}; fix the store ({store.shown}) and resume again (the journal stays "
                           f"where it is)") from exc
    if replayed:
        notes.append(f"stored {replayed} measured cell(s) kept in the journal while the store was failing")
    done = store.done_cell_keys(run_id)
    todo = [c for c in cells if c.key not in done and c.status == "planned"]
    ctx = RunContext(
        run_id, build_dir, manifest, workloads, HostCache(build_dir, manifest), float(labels.get("test_slowdown") or 0),
        lock_wait_s=lock_wait_s, logs_dir=run_logs_dir(store.url, run_id),
    )
    store.update_run(run_id, status="running", labels={**labels, "holder": holder()})
    return PreparedRun(run_id, store, ctx, profiles, cells, todo, max_consecutive_failures, notes)


def record_skipped(prep: PreparedRun, keeper: CellKeeper | None = None) -> None:
    """Store the cells the plan decided without running: skipped ones, and failed ones (their
    workload could not be built)."""
    keep = keeper.keep if keeper is not None else (lambda rec: prep.store.record_cell(prep.run_id, rec))
    done = prep.store.done_cell_keys(prep.run_id)
    for c in prep.cells:
        if c.status in ("skipped", "failed") and c.key not in done:
            profile = prep.profiles.get(c.device)
            backend = next((b for b in profile.backends if b.name == c.backend), None) if profile else None
            entry = prep.ctx.manifest.workloads.get(c.workload)
            result: dict[str, Any] = {"model_source": model_origin(entry)} if entry else {}
            if profile and backend:
                result["identity"] = cell_identity(profile, backend)
            keep(CellRecord(c.key, c.device, c.workload, c.precision, c.backend, c.status, error=c.reason,
                            transport=profile.transport.kind if profile else None,
                            build_id=prep.ctx.manifest.build_id, result=result))


def _mark_interrupted(prep: PreparedRun) -> None:
    """The run's status says it stopped early; a store that cannot take even that is left as it is
    (``--resume`` works from the plan and the cells, not the status)."""
    try:
        prep.store.finish_run(prep.run_id, status="interrupted")
    except (SQLAlchemyError, OSError, HarnessError):
        pass


def _interrupted(prep: PreparedRun) -> RunInterrupted:
    planned = {c.key for c in prep.cells if c.status == "planned"}
    try:
        stored = len(planned & prep.store.done_cell_keys(prep.run_id))
    except (SQLAlchemyError, OSError):
        stored = len(planned) - len(prep.todo)  # what was stored before this attempt, at least
    return RunInterrupted(prep.run_id, stored, len(planned))


def execute(prep: PreparedRun, on_event: Callable[[Event], None] | None = None) -> RunOutcome:
    keeper = CellKeeper(prep.store, prep.run_id)
    record_skipped(prep, keeper)
    prep.ctx.fp32.seed(prep.store.metrics_frame([prep.run_id]))  # a resumed run's fp32 cells
    runner = Runner(prep.store, prep.ctx, prep.profiles, on_event=on_event,
                    max_consecutive_failures=prep.max_consecutive_failures, keeper=keeper)
    try:
        outcome = runner.execute(fp32_first(prep.todo) if keeper.fault is None else [])
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (the CLI turns it into this)
        _mark_interrupted(prep)
        raise _interrupted(prep) from exc
    finally:
        prep.ctx.host.remove()  # inputs and pulled outputs of this run
    if keeper.fault is not None:  # the store refused a cell: the rest waits in the journal
        _mark_interrupted(prep)
        not_run = sum(c.key not in keeper.kept for c in prep.todo)
        raise StoreFault(keeper.stop_message(not_run)) from keeper.fault
    previous = prep.store.get_run(prep.run_id).get("summary") or {}
    summary = outcome.summary()
    if previous:  # a resumed run: keep what the earlier attempts pushed
        summary["previous"] = previous
    prep.store.finish_run(prep.run_id, status="finished", summary=summary)
    return outcome
