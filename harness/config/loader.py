"""Find and load device profiles and workloads from their folders (or explicit files)."""

from __future__ import annotations

from pathlib import Path

from harness.config.locations import project_root
from harness.config.models import DeviceProfile, Workload
from harness.config.validate import parse_model
from harness.config.yamlsource import load_with_marks
from harness.errors import ConfigError

__all__ = ["detect_kind", "load_device", "load_devices", "load_workload", "load_workloads", "project_root"]


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def load_device(path: Path) -> DeviceProfile:
    return parse_model(DeviceProfile, path)


def load_workload(path: Path) -> Workload:
    wl = parse_model(Workload, path)
    return wl


def _load_all(folder: Path, loader, what: str) -> dict[str, tuple[object, Path]]:
    out: dict[str, tuple[object, Path]] = {}
    for path in _yaml_files(folder):
        item = loader(path)
        if item.name in out:
            raise ConfigError(f"{path}: {what} name {item.name!r} already defined in {out[item.name][1]}")
        out[item.name] = (item, path)
    return out


def load_devices(folder: Path | None = None) -> dict[str, tuple[DeviceProfile, Path]]:
    return _load_all(folder or project_root() / "devices", load_device, "device")  # type: ignore[return-value]


def load_workloads(folder: Path | None = None) -> dict[str, tuple[Workload, Path]]:
    return _load_all(folder or project_root() / "workloads", load_workload, "workload")  # type: ignore[return-value]


def detect_kind(path: Path) -> str:
    """'device', 'workload' or 'farm' for a YAML file, from its folder or its keys."""
    parent = path.parent.name
    if parent == "devices":
        return "device"
    if parent == "workloads":
        return "workload"
    data, _ = load_with_marks(path)
    if isinstance(data, dict):
        if "transport" in data or "backends" in data:
            return "device"
        if "kind" in data and "model" in data:
            return "workload"
        if "devices" in data:
            return "farm"
    raise ConfigError(f"{path}:1:1: cannot tell whether this is a device, workload or farm file")
