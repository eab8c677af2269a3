"""The build manifest: ``builds/<id>/manifest.json``.

A build is a folder; the manifest lists, per workload and precision, the artifact files
(by role: ``model``; translation has ``encoder``, ``decoder``, ``decoder_with_past``)
with sha256 and size, plus how each was produced. A user's CI may write the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from harness.config.ids import id_problem
from harness.config.outputs import inside
from harness.errors import HarnessError, IntegrityError

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Artifact(_M):
    path: str  # relative to the build folder, posix separators
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)

    @field_validator("path")
    @classmethod
    def _relative(cls, v: str) -> str:
        parts = v.replace("\\", "/").split("/")
        if not v or v.startswith("/") or ":" in parts[0] or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"expected a path inside the build folder (relative, no '..'), got {v!r}")
        return v


class VariantCheck(_M):
    """What the build saw when it loaded a variant with ORT (CPU EP) and ran the workload's inputs once."""

    loaded: bool  # created a session and ran every checked feed
    unchanged: bool = False  # same ops and weights as fp32 (subgraphs included): the quantizer did nothing
    cause: str | None = None  # the error's essential line (tables show this)
    error: str | None = None  # the full error text
    fix: str | None = None  # what to do about it
    feeds: int = 0  # feeds run
    onnxruntime: str | None = None  # the ORT that checked it


class PrecisionEntry(_M):
    files: dict[str, Artifact]  # role -> artifact
    converter: dict[str, Any] = Field(default_factory=dict)  # tool, version, parameters
    notes: list[str] = Field(default_factory=list)  # e.g. "int4: conv weights unchanged"
    check: VariantCheck | None = None  # None: a manifest written without the build-time check

    @property
    def failed_check(self) -> bool:
        return self.check is not None and not self.check.loaded


class RuntimeEntry(_M):
    """One precision of one runtime other than ONNX Runtime, converted on the host from the
    build's ONNX variant ``source_precision``: the files, who made them and what the precision
    means there. ``skipped`` (the runtime cannot make it) or ``error`` (its converter failed)
    instead of files."""

    files: dict[str, Artifact] = Field(default_factory=dict)  # role -> artifact ("model", ncnn's "weights")
    converter: dict[str, Any] = Field(default_factory=dict)  # name, version, options
    meaning: str | None = None  # what this precision means in this runtime
    source_precision: str = "fp32"
    source_sha256: str | None = None  # the ONNX file it was made from
    io: dict[str, Any] = Field(default_factory=dict)  # artifact tensor names / layouts vs the ONNX model's
    settings: dict[str, Any] = Field(default_factory=dict)  # run-time settings the precision needs
    skipped: str | None = None
    error: str | None = None


class WorkloadEntry(_M):
    kind: str
    source: dict[str, Any] = Field(default_factory=dict)  # builder name + options, or user path
    io: dict[str, Any] = Field(default_factory=dict)  # input/output names, vocab size, ...
    precisions: dict[str, PrecisionEntry]
    notes: list[str] = Field(default_factory=list)  # e.g. a converter that failed, with its error
    skipped: dict[str, str] = Field(default_factory=dict)  # precision -> why it has no files
    errors: dict[str, str] = Field(default_factory=dict)  # precision -> a converter's full error text
    error: str | None = None  # the workload could not be built at all (e.g. an unreadable model): its cells fail
    runtimes: dict[str, dict[str, RuntimeEntry]] = Field(default_factory=dict)  # runtime -> precision -> artifacts


class Manifest(_M):
    manifest_version: int = MANIFEST_VERSION
    build_id: str
    created: str
    source: dict[str, Any] = Field(default_factory=dict)  # builder versions, seed, git rev
    workloads: dict[str, WorkloadEntry]

    @field_validator("build_id")
    @classmethod
    def _id(cls, v: str) -> str:
        problem = id_problem(v)
        if problem:
            raise ValueError(f"not a valid build id: {problem}")
        return v


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def artifact_for(build_dir: Path, file: Path) -> Artifact:
    return Artifact(path=file.relative_to(build_dir).as_posix(), sha256=sha256_of(file), size=file.stat().st_size)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def write_manifest(build_dir: Path, manifest: Manifest) -> Path:
    path = Path(build_dir) / MANIFEST_NAME
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(manifest.model_dump(), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path


def load_manifest(build_dir: Path) -> Manifest:
    path = Path(build_dir) / MANIFEST_NAME
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise HarnessError(f"{path}: no manifest (is {build_dir} a build folder? run `harness build`)") from None
    except json.JSONDecodeError as exc:
        raise HarnessError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise HarnessError(f"{path}: field {loc}: {first['msg']}") from None
    except RecursionError:
        raise HarnessError(f"{path}: JSON nested too deeply") from None


def verify_artifact(build_dir: Path, art: Artifact) -> Path:
    """Check one artifact's sha256 before use; returns its absolute path."""
    path = Path(build_dir) / art.path
    if not inside(build_dir, path):  # a symlink in the build folder pointing elsewhere
        raise IntegrityError(f"build artifact {art.path} resolves outside the build folder {build_dir}")
    if not path.is_file():
        raise IntegrityError(f"build artifact missing: {path}")
    got = sha256_of(path)
    if got != art.sha256:
        raise IntegrityError(f"sha256 mismatch for {path}: manifest says {art.sha256}, file is {got}")
    return path


def resolve_build(ref: str | os.PathLike[str], builds_root: Path) -> Path:
    """A build id (under builds_root), a build folder, or a manifest path -> build folder."""
    p = Path(ref)
    if p.name == MANIFEST_NAME and p.is_file():
        return p.parent
    if (p / MANIFEST_NAME).is_file():
        return p
    if id_problem(str(ref)) is None and (builds_root / str(ref) / MANIFEST_NAME).is_file():
        return builds_root / str(ref)
    if str(ref) == "latest":
        found = latest_build(builds_root)
        if found:
            return found
    raise HarnessError(f"no build {str(ref)!r}: not a build folder, a manifest, or an id under {builds_root}")


def latest_build(builds_root: Path) -> Path | None:
    candidates = [d for d in Path(builds_root).glob("*") if (d / MANIFEST_NAME).is_file()]
    if not candidates:
        return None
    return max(candidates, key=lambda d: load_manifest(d).created + d.name)
