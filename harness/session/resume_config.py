"""What a resumed run runs with: the configuration stored when it started.

``snapshot`` is what ``prepare_run`` stores (results/run_configs.py); ``restore`` rebuilds the
device profiles and workloads from it for ``--resume`` and says what changed in the YAML files
since. A file that is unchanged (up to masked secrets) is used as loaded, so a masked password
never replaces a real one; a changed one is ignored in favour of the stored configuration.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

from harness.config.models import DeviceProfile, Workload
from harness.errors import HarnessError
from harness.results.redact import redact

MAX_CHANGES_SHOWN = 5


def snapshot(profiles: Mapping[str, DeviceProfile], workloads: Mapping[str, tuple[Workload, Path]]) -> dict[str, Any]:
    return {
        "devices": {name: p.model_dump(mode="json") for name, p in profiles.items()},
        "workloads": {name: {"config": w.model_dump(mode="json"), "path": str(path)} for name, (w, path) in
                      workloads.items()},
    }


def changes(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Field paths whose value differs, as ``path: old -> new``."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            out += changes(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key))
        return out
    return [] if old == new else [f"{prefix or '(top level)'}: {old!r} -> {new!r}"]


def _pick(kind: str, name: str, stored: dict[str, Any], current: Callable[[], Any], dump: Callable[[Any], Any],
          build: Callable[[dict[str, Any]], Any], notes: list[str]) -> Any:
    try:
        now = current()
    except HarnessError as exc:
        notes.append(f"{kind} {name}: its file no longer loads ({str(exc).splitlines()[0]}); "
                     "resuming with the configuration stored with the run")
        return build(stored)
    diff = changes(stored, redact(dump(now)))
    if not diff:
        return now
    shown = "; ".join(diff[:MAX_CHANGES_SHOWN]) + (f"; and {len(diff) - MAX_CHANGES_SHOWN} more" if
                                                  len(diff) > MAX_CHANGES_SHOWN else "")
    notes.append(f"{kind} {name} changed since the run started ({shown}); resuming with the configuration "
                 "stored with the run")
    return build(stored)


def restore(
    stored: dict[str, Any],
    load_device: Callable[[str], DeviceProfile],
    load_workload: Callable[[str], tuple[Workload, Path]],
) -> tuple[dict[str, DeviceProfile], dict[str, tuple[Workload, Path]], list[str]]:
    """Profiles and workloads to resume with, and notes naming what changed in the files."""
    notes: list[str] = []
    profiles: dict[str, DeviceProfile] = {}
    for name, data in stored.get("devices", {}).items():
        profiles[name] = _pick("device", name, data, partial(load_device, name), _dump_profile,
                               DeviceProfile.model_validate, notes)
    workloads: dict[str, tuple[Workload, Path]] = {}
    for name, entry in stored.get("workloads", {}).items():
        workloads[name] = _pick("workload", name, entry["config"], partial(load_workload, name), _dump_workload,
                                partial(_workload_at, Path(entry["path"])), notes)
    return profiles, workloads, notes


def _dump_profile(p: DeviceProfile) -> dict[str, Any]:
    return p.model_dump(mode="json")


def _dump_workload(wp: tuple[Workload, Path]) -> dict[str, Any]:
    return wp[0].model_dump(mode="json")


def _workload_at(path: Path, data: dict[str, Any]) -> tuple[Workload, Path]:
    return Workload.model_validate(data), path
