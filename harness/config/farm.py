"""The farm inventory (`farm.yaml`) for `harness nightly`: devices, what each label runs,
the build to take, known failures, preflight limits, store, publish dir and regression hook.

Strict like every other config: unknown keys are errors, every error names file:line:col.
Relative paths resolve against the farm file's folder. ``load_farm`` also resolves each
device's profile (a name in ``devices_dir`` or a YAML path) and applies its overrides, so a
farm that validates can be planned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from harness.config.models import NAME_RE, PRECISIONS, DeviceProfile, Strict, check_host_port
from harness.config.validate import parse_model
from harness.config.yamlsource import Marks, load_with_marks, locate
from harness.errors import ConfigError, HarnessError


class FarmDevice(Strict):
    profile: str  # a profile name (in devices_dir) or a path to a device YAML
    name: str | None = Field(default=None, pattern=NAME_RE)  # default: the profile's name
    serial: str | None = None  # overrides an adb profile's serial
    host: str | None = None  # overrides an ssh profile's host
    port: int | None = Field(default=None, ge=1, le=65535)  # overrides an ssh profile's port
    server: str | None = None  # overrides an adb profile's server ("host:port" of a remote adb server)
    workdir: str | None = None  # overrides the transport's workdir
    labels: dict[str, str] = Field(default_factory=dict)  # merged over the profile's labels

    @field_validator("server")
    @classmethod
    def _server(cls, v: str | None) -> str | None:
        return check_host_port(v)


class RunRule(Strict):
    """Devices whose labels match ``match`` (all keys equal; globs allowed) run these cells."""

    match: dict[str, str] = Field(default_factory=dict)  # empty: every device
    workloads: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    precisions: list[str] = Field(default_factory=lambda: ["*"], min_length=1)
    backends: list[str] = Field(default_factory=lambda: ["*"], min_length=1)

    @field_validator("precisions")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if not any(fnmatchcase(k, p) for k in PRECISIONS)]
        if bad:
            raise ValueError(f"no precision matches {bad} (known: {', '.join(PRECISIONS)})")
        return v


class BuildRef(Strict):
    """Exactly one of: a build folder, a manifest path, or the latest build in a folder."""

    folder: str | None = None
    manifest: str | None = None
    latest_in: str | None = None

    @model_validator(mode="after")
    def _one(self) -> BuildRef:
        if sum(x is not None for x in (self.folder, self.manifest, self.latest_in)) != 1:
            raise ValueError("build needs exactly one of 'folder', 'manifest' or 'latest_in'")
        return self


class KnownFailure(Strict):
    cell: str = Field(min_length=1)  # glob over device/workload/precision/backend
    issue: str = Field(min_length=1)  # a link to the tracking issue


class Preflight(Strict):
    min_battery_pct: float | None = Field(default=20.0, ge=0, le=100)
    require_charging: bool = False
    max_temp_c: float | None = 60.0
    min_free_mb: float | None = Field(default=200.0, ge=0)
    timeout_s: float = Field(default=20.0, gt=0)
    battery_dirs: list[str] = Field(
        default_factory=lambda: ["/sys/class/power_supply/battery", "/sys/class/power_supply/BAT*"]
    )
    thermal_zones: list[str] = Field(default_factory=lambda: ["/sys/class/thermal/thermal_zone*/temp"])


class Hook(Strict):
    """Run when regressions are confirmed: the alerts go as JSON on stdin and in $HARNESS_ALERTS_JSON."""

    command: list[str] = Field(min_length=1)
    when: list[str] = Field(default_factory=lambda: ["confirmed"])  # alert states that fire it
    timeout_s: float = Field(default=60.0, gt=0)

    @field_validator("when")
    @classmethod
    def _states(cls, v: list[str]) -> list[str]:
        bad = [s for s in v if s not in ("suspected", "confirmed")]
        if bad:
            raise ValueError(f"hook.when takes 'suspected' and/or 'confirmed', got {bad}")
        return v


class Farm(Strict):
    name: str = Field(pattern=NAME_RE)
    description: str = ""
    devices: list[FarmDevice] = Field(min_length=1)
    runs: list[RunRule] = Field(default_factory=lambda: [RunRule()])
    build: BuildRef
    workloads_dir: str | None = None  # default: workloads/ beside this file, else the project's
    devices_dir: str | None = None  # where profile names resolve; default: devices/ beside this file, else the project's
    known_failures: list[KnownFailure] = Field(default_factory=list)
    max_consecutive_failures: int | None = Field(default=3, ge=1)
    preflight: Preflight = Field(default_factory=Preflight)
    store: str | None = None  # path or SQLAlchemy URL; default $HARNESS_STORE / results/harness.db
    publish_dir: str | None = "reports/site"
    state_dir: str = "results/nightly"  # effective device profiles per night (for --resume)
    hook: Hook | None = None


@dataclass
class FarmConfig:
    """A validated farm with its paths resolved and its devices' effective profiles."""

    farm: Farm
    path: Path
    profiles: dict[str, DeviceProfile]  # effective (overrides applied), in farm order

    @property
    def name(self) -> str:
        return self.farm.name

    def resolve(self, p: str | None) -> Path | None:
        if p is None:
            return None
        q = Path(p).expanduser()
        return q if q.is_absolute() else (self.path.parent / q)

    def workloads_dir(self) -> Path | None:
        """The farm's workloads_dir, else workloads/ beside the farm file, else None (the project's)."""
        if self.farm.workloads_dir:
            return self.resolve(self.farm.workloads_dir)
        beside = self.path.parent / "workloads"
        return beside if beside.is_dir() else None

    def store_url(self) -> str | None:
        s = self.farm.store
        if s is None or "://" in s:
            return s
        return str(self.resolve(s))

    def build_ref(self) -> Path:
        from harness.builds.manifest import latest_build, resolve_build

        b = self.farm.build
        if b.latest_in is not None:
            root = self.resolve(b.latest_in)
            assert root is not None
            found = latest_build(root)
            if found is None:
                raise HarnessError(f"{self.path}: build.latest_in: no build folder with a manifest under {root}")
            return found
        ref = self.resolve(b.folder or b.manifest)
        assert ref is not None
        return resolve_build(ref, ref.parent)

    def cells_for(self, device: str) -> list[RunRule]:
        labels = self.profiles[device].labels
        return [r for r in self.farm.runs if label_match(labels, r.match)]

    def known_failure(self, cell_key: str) -> KnownFailure | None:
        return next((k for k in self.farm.known_failures if fnmatchcase(cell_key, k.cell)), None)


def label_match(labels: dict[str, str], selector: dict[str, str]) -> bool:
    return all(k in labels and fnmatchcase(labels[k], v) for k, v in selector.items())


def parse_selector(items: Sequence[str]) -> dict[str, str]:
    """['soc=snapdragon', 'tier=flag*'] -> {'soc': 'snapdragon', 'tier': 'flag*'}."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise HarnessError(f"--label {item!r}: expected key=value")
        out[key] = value
    return out


def _at(path: Path, marks: Marks, loc: tuple[Any, ...]) -> str:
    pos = locate(marks, loc)
    return f"{path}:{pos[0]}:{pos[1]}" if pos else str(path)


def _profile_file(cfg_dir: Path, devices_dir: Path, ref: str) -> Path | None:
    if ref.endswith((".yaml", ".yml")):
        p = Path(ref).expanduser()
        p = p if p.is_absolute() else cfg_dir / p
        return p if p.is_file() else None
    for cand in (devices_dir / f"{ref}.yaml", devices_dir / f"{ref}.yml"):
        if cand.is_file():
            return cand
    from harness.config.loader import load_devices

    found = load_devices(devices_dir).get(ref) if devices_dir.is_dir() else None
    return found[1] if found else None


def _override(prof: DeviceProfile, dev: FarmDevice, where: str) -> DeviceProfile:
    t = prof.transport.model_dump()
    for key in ("serial", "host", "port", "server"):
        value = getattr(dev, key)
        if value is None:
            continue
        if key not in type(prof.transport).model_fields:
            raise ConfigError(f"{where}: '{key}' does not apply to profile {prof.name!r} "
                              f"(transport {prof.transport.kind})")
        t[key] = value
    if dev.workdir is not None:
        t["workdir"] = dev.workdir
    data = prof.model_dump()
    data.update(transport=t, labels={**prof.labels, **dev.labels}, example=False)
    if dev.name:
        data["name"] = dev.name
    return DeviceProfile.model_validate(data)


def load_farm(path: Path) -> FarmConfig:
    """Validate a farm file and resolve its devices' profiles; ConfigError names file:line:col."""
    from harness.config.loader import load_device, project_root

    path = Path(path)
    data, marks = load_with_marks(path)
    farm = parse_model(Farm, path, data=data, marks=marks)
    cfg_dir = path.parent
    if farm.devices_dir:
        devices_dir = Path(farm.devices_dir).expanduser()
        devices_dir = devices_dir if devices_dir.is_absolute() else cfg_dir / devices_dir
    else:  # devices/ beside the farm file, else the project's
        devices_dir = cfg_dir / "devices" if (cfg_dir / "devices").is_dir() else project_root() / "devices"
    profiles: dict[str, DeviceProfile] = {}
    for i, dev in enumerate(farm.devices):
        where = _at(path, marks, ("devices", i, "profile"))
        file = _profile_file(cfg_dir, devices_dir, dev.profile)
        if file is None:
            raise ConfigError(f"{where}: field devices[{i}].profile: no device profile {dev.profile!r} "
                              f"(neither a YAML file nor a name in {devices_dir})")
        prof = _override(load_device(file), dev, _at(path, marks, ("devices", i)))
        if prof.name in profiles:
            raise ConfigError(f"{_at(path, marks, ('devices', i))}: device name {prof.name!r} used twice "
                              "(give each entry a 'name')")
        profiles[prof.name] = prof
    for i, kf in enumerate(farm.known_failures):
        if kf.cell.count("/") != 3:
            raise ConfigError(f"{_at(path, marks, ('known_failures', i, 'cell'))}: field known_failures[{i}].cell: "
                              f"expected device/workload/precision/backend (globs allowed), got {kf.cell!r}")
    return FarmConfig(farm, path, profiles)
