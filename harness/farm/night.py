"""One night of a farm: preflight -> quarantine -> run the plan -> history -> publish -> hook.

The run itself is the ordinary run path (harness.session.launch: one worker per device,
cells one at a time per device, each cell committed when it finishes, N failures in a row
quarantine a device). A night is one run per shard, kind ``nightly``, labelled
night=<date>, shard=<i/n[,k=v]>, farm=<name>, so shards writing to one store merge into one
night. ``resume`` completes this shard's latest unfinished night with exactly its missing
cells (prepare_resume: planned cells with no row).

The effective device profiles (farm overrides applied) are written under ``state_dir`` so a
resumed night reloads exactly the devices it started with.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from harness.config.farm import FarmConfig
from harness.errors import HarnessError
from harness.farm import preflight as pf
from harness.farm.health import farm_health
from harness.farm.hook import HookResult, new_alerts, payload, run_hook
from harness.farm.selection import Shard, night_cells, shard_devices, union_filters
from harness.results.claims import claim_shard, name_claim
from harness.results.store import Store
from harness.session.launch import PreparedRun, RunRequest, execute, prepare_resume, prepare_run
from harness.session.runner import Event, RunOutcome

Log = Callable[[str], None]


@dataclass
class NightResult:
    run_id: str
    night: str
    shard: str
    preflight: list[pf.PreflightResult] = field(default_factory=list)
    outcome: RunOutcome | None = None
    health: dict[str, Any] = field(default_factory=dict)
    health_json: Path | None = None
    site: Path | None = None
    hook: HookResult | None = None
    resumed: bool = False
    problems: list[str] = field(default_factory=list)  # after-run steps that failed (cells are safe)


def tonight() -> str:
    return datetime.now(timezone.utc).date().isoformat()


def _write_profiles(cfg: FarmConfig, names: list[str], night: str, shard: Shard) -> list[Path]:
    state = cfg.resolve(cfg.farm.state_dir)
    assert state is not None
    folder = state / cfg.name / night / f"{shard.name.replace('/', 'of').replace(',', '_')}-{secrets.token_hex(3)}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(cfg.profiles[name].model_dump(mode="json"), sort_keys=False))
        out.append(path)
    return out


def prepare_night(cfg: FarmConfig, store: Store, shard: Shard, night: str, log: Log,
                  preflight: Callable[..., list[pf.PreflightResult]] = pf.check_all,
                  ) -> tuple[PreparedRun, list[pf.PreflightResult]]:
    names = shard_devices(cfg, shard)
    if not names:
        raise HarnessError(f"farm {cfg.name}: shard {shard.name} has no devices")
    build_dir = cfg.build_ref()
    log(f"farm {cfg.name}, night {night}, shard {shard.name}: {len(names)} device(s), build {build_dir}")
    checks = preflight([cfg.profiles[n] for n in names], cfg.farm.preflight)
    for c in checks:
        log(f"preflight {c.device}: " + ("ok" if c.ok else f"QUARANTINED: {c.reason}") + f" ({c.duration_s:.1f} s)")
    quarantined = {c.device: c.reason or "preflight failed" for c in checks if not c.ok}
    req = RunRequest(
        filters=union_filters(cfg, names),
        build=str(build_dir),
        workloads_dir=cfg.workloads_dir(),
        device_files=_write_profiles(cfg, names, night, shard),
        kind="nightly",
        labels={"night": night, "shard": shard.name, "farm": cfg.name, "farm_file": str(cfg.path.resolve()),
                "preflight": [c.to_dict() for c in checks]},
        argv=sys.argv[1:],
        max_consecutive_failures=cfg.farm.max_consecutive_failures,
        shape_plan=lambda cells: night_cells(cfg, cells, quarantined),
    )
    return prepare_run(req, store), checks


def _split_shard(name: str) -> tuple[int, int, str] | None:
    """'2/3,rack=b' -> (2, 3, 'rack=b'); None for a label that is not a shard spec."""
    spec, _, selector = str(name).partition(",")
    i, sep, n = spec.partition("/")
    return (int(i), int(n), selector) if sep and i.isdigit() and n.isdigit() else None


def shard_conflict(store: Store, farm: str, shard: Shard, night: str) -> str | None:
    """Why this shard does not fit with the shards already run tonight (another n, or the same i
    twice), naming the other run and its host; None when it fits."""
    mine = _split_shard(shard.name)
    assert mine is not None
    for run in store.list_runs():
        labels = run.get("labels") or {}
        if run.get("kind") != "nightly" or (labels.get("farm"), labels.get("night")) != (farm, night):
            continue
        other = _split_shard(labels.get("shard", ""))
        if other is None or other[2] != mine[2]:
            continue  # a different label selection divides other devices
        who = f"run {run['run_id']} on host {run.get('host') or '?'} ({run['status']})"
        if other[1] != mine[1]:
            return (f"farm {farm}: shard {shard.name} does not fit night {night}: {who} is shard "
                    f"{labels.get('shard')}; every host of a night must split the farm the same way "
                    f"(the same n in --shard i/n), or devices go unrun or run twice")
        if other[0] == mine[0]:
            hint = "run with --resume to complete it" if run["status"] != "finished" else "pass --night to label a re-run"
            return f"farm {farm}: night {night} of shard {shard.name} already has {who}; {hint}"
    return None


def unfinished_night(store: Store, farm: str, shard: Shard) -> dict[str, Any] | None:
    for run in store.list_runs():  # newest first
        labels = run.get("labels") or {}
        if run.get("kind") == "nightly" and labels.get("farm") == farm and labels.get("shard") == shard.name:
            return run if run["status"] != "finished" else None
    return None


def run_night(
    cfg: FarmConfig,
    store: Store,
    *,
    shard: Shard = Shard(),
    night: str | None = None,
    resume: bool = False,
    publish_dir: Path | None = None,
    on_event: Callable[[Event], None] | None = None,
    log: Log = lambda s: None,
) -> NightResult | None:
    """Run (or resume) this shard's night; None when --resume finds nothing unfinished."""
    if resume:
        run = unfinished_night(store, cfg.name, shard)
        if run is None:
            log(f"farm {cfg.name}, shard {shard.name}: no unfinished night to resume")
            return None
        prep = prepare_resume(run["run_id"], store, max_consecutive_failures=cfg.farm.max_consecutive_failures)
        night = run["labels"]["night"]
        checks = [pf.PreflightResult(**p) for p in run["labels"].get("preflight", [])]
        log(f"resuming night {night} (run {prep.run_id}, shard {shard.name}): {len(prep.todo)} missing cell(s)")
        for note in prep.notes:
            log(f"note: {note}")
    else:
        night = night or tonight()
        if (conflict := shard_conflict(store, cfg.name, shard, night)) is not None:
            raise HarnessError(conflict)
        selection = ",".join(f"{k}={v}" for k, v in shard.labels)
        # the check above reads history; this claim is the atomic one (two starts at the same moment)
        claim_shard(store, cfg.name, night, shard.index, shard.count, selection)
        prep, checks = prepare_night(cfg, store, shard, night, log)
        name_claim(store, cfg.name, night, shard.index, selection, prep.run_id)
        log(f"run {prep.run_id}: {len(prep.todo)} cell(s) to run, "
            f"{sum(c.status == 'skipped' for c in prep.cells)} skipped")
    result = NightResult(prep.run_id, night, shard.name, checks, resumed=resume)
    result.outcome = execute(prep, on_event)
    finish_night(cfg, store, result, publish_dir, log)
    return result


def finish_night(cfg: FarmConfig, store: Store, result: NightResult, publish_dir: Path | None, log: Log) -> None:
    """History detection -> farm health -> site -> regression hook. Every cell is stored before
    this runs; a step that fails here is reported (result.problems), the others still run."""
    from harness.results.analysis_tables import load_alerts
    from harness.views.history import load_series, sync_alerts

    before = load_alerts(store)
    after = before
    try:
        series = load_series(store)
        after = sync_alerts(store, series) if series else before
    except Exception as exc:  # noqa: BLE001 - e.g. two shards syncing alerts at once: report, go on
        _problem(result, log, "history detection", exc)
    result.health = farm_health(store, cfg.name, result.night, list(cfg.profiles))
    t = result.health["totals"]
    log(f"night {result.night}: {t['online']} device(s) online, {t['quarantined']} quarantined; cells ok "
        f"{t['cells_ok']}, failed {t['cells_failed']}, known failing {t['cells_known_failing']}, "
        f"missing {t['cells_missing']}")
    out = publish_dir or cfg.resolve(cfg.farm.publish_dir)
    if out is not None:
        from harness.farm.site import write_health
        from harness.report.site.publish import publish

        result.health_json, _ = write_health(result.health, out)
        try:
            publish(store, out)
            result.site = out / "index.html"
            log(f"published {result.site} (farm health: {out / 'farm' / 'index.html'})")
        except Exception as exc:  # noqa: BLE001 - the night's data is stored; `harness publish` can redo this
            _problem(result, log, "publish", exc)
    hook = cfg.farm.hook
    if hook is not None:
        fresh = new_alerts(before, after, hook.when)
        result.hook = run_hook(hook, payload(fresh, cfg.name, result.night, str(result.site) if result.site else None))
        if result.hook.ran:
            log(f"regression hook: {result.hook.alerts} alert(s), exit {result.hook.rc}: {result.hook.output[-300:]}")
            if result.hook.rc != 0:
                result.problems.append(f"regression hook exited {result.hook.rc}: {result.hook.output[-300:]}")


def _problem(result: NightResult, log: Log, step: str, exc: BaseException) -> None:
    text = f"{step} failed: {type(exc).__name__}: {exc}"
    result.problems.append(text)
    log(text)
