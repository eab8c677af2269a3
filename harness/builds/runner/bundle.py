"""A runner bundle: the folder a device receives — run.sh, bin/ort_runner, lib/ — and its manifest.

``manifest.json`` lists every file with its sha256 and size; ``bundle_id`` (a hash of that list)
names the bundle on the device, so a changed bundle lands in a new folder and an unchanged one is
never sent twice.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.builds.manifest import sha256_of
from harness.builds.runner.parts import Parts, run_tool
from harness.builds.runner.targets import RunnerTarget, TargetSpec
from harness.errors import HarnessError

MANIFEST = "manifest.json"
LAUNCHER = "run.sh"
BUNDLE_FORMAT = 1
_FILE_RE = r"^(run\.sh|bin/[A-Za-z0-9._+-]+|lib/[A-Za-z0-9._+-]+)$"


class BundleFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    executable: bool = False


class BundleManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    format: int = BUNDLE_FORMAT
    target: RunnerTarget
    bundle_id: str = Field(pattern=r"^[0-9a-f]{64}$")
    source_sha256: str  # runner sources + target + ORT version: equal means a rebuild would make the same
    created: str
    onnxruntime: str
    launcher: str = LAUNCHER
    files: dict[str, BundleFile]
    parts: dict[str, str] = Field(default_factory=dict)
    #: runtimes beside ONNX Runtime compiled into the runner -> version (`--runtime NAME`)
    runtimes: dict[str, str] = Field(default_factory=dict)

    def check_paths(self) -> None:
        bad = [p for p in self.files if not re.match(_FILE_RE, p)]
        if bad or self.launcher not in self.files:
            raise ValueError(f"bundle manifest names unexpected files {bad or [self.launcher]}")


def needed_libraries(elf: Path) -> list[str]:
    """The DT_NEEDED entries of a shared object or executable (readelf reads any architecture)."""
    out = run_tool(["readelf", "-d", str(elf)], f"reading the dynamic section of {elf.name}")
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def _sysroot_closure(roots: list[Path], sysroot: Path, skip: set[str]) -> dict[str, Path]:
    """Every library the roots need, transitively, from the target's sysroot (by SONAME)."""
    found: dict[str, Path] = {}
    todo = [lib for root in roots for lib in needed_libraries(root)]
    while todo:
        name = todo.pop()
        if name in found or name in skip:
            continue
        path = sysroot / name
        if not path.exists():
            raise HarnessError(f"the bundle needs {name}, which is not in {sysroot} (apt-get install the target's "
                               f"libc6/libstdc++6 cross packages)")
        found[name] = path.resolve()
        todo.extend(needed_libraries(found[name]))
    return found


def _copy(src: Path, dst: Path, executable: bool) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o755 if executable else 0o644)


def assemble(spec: TargetSpec, binary: Path, parts: Parts, out: Path, source_sha256: str) -> BundleManifest:
    """Write the ONNX Runtime runner's bundle into ``out`` (replaced as a whole, manifest last)."""
    contents = {"bin/ort_runner": (binary, True), f"lib/{spec.ort_library_name}": (parts.ort_library, False)}
    runtimes: dict[str, str] = {}
    for kind in parts.kinds:  # the other runtimes built into the runner, and their libraries
        contents.update({f"lib/{name}": (kind.libs / name, False) for name in kind.bundled})
        runtimes[kind.runtime] = kind.version
    return write_bundle(spec, out, contents, source_sha256=source_sha256, onnxruntime=parts.ort_version,
                        sources=parts.sources, launcher=spec.launcher(), runtimes=runtimes)


def write_bundle(spec: TargetSpec, out: Path, contents: Mapping[str, tuple[Path, bool]], *, source_sha256: str,
                 onnxruntime: str, sources: Mapping[str, str], launcher: str,
                 runtimes: Mapping[str, str] | None = None) -> BundleManifest:
    """Write a bundle into ``out`` (replaced as a whole, manifest last): ``contents`` (path in the bundle ->
    (file, executable)); where the target ships its own loader, the glibc closure of those files from its
    sysroot (libraries already in ``contents`` are not looked up there); the launcher; the manifest."""
    staging = out.with_name(out.name + ".staging")
    shutil.rmtree(staging, ignore_errors=True)
    for rel, (src, executable) in contents.items():
        _copy(src, staging / rel, executable=executable)
    parts_used = dict(sources)
    if spec.sysroot and spec.bundle_loader:
        own = {Path(rel).name for rel in contents if rel.startswith("lib/")}
        libs = _sysroot_closure([staging / rel for rel in contents], Path(spec.sysroot), own)
        libs.setdefault(spec.bundle_loader, (Path(spec.sysroot) / spec.bundle_loader).resolve())
        for name, path in sorted(libs.items()):
            _copy(path, staging / "lib" / name, executable=name == spec.bundle_loader)
        parts_used["glibc"] = f"Debian cross packages ({spec.sysroot}): {', '.join(sorted(libs))}"
    (staging / LAUNCHER).write_text(launcher)
    os.chmod(staging / LAUNCHER, 0o755)
    files = {}
    for path in sorted(p for p in staging.rglob("*") if p.is_file()):
        rel = path.relative_to(staging).as_posix()
        files[rel] = BundleFile(sha256=sha256_of(path), size=path.stat().st_size, executable=os.access(path, os.X_OK))
    bundle_id = hashlib.sha256(json.dumps({k: v.sha256 for k, v in files.items()}, sort_keys=True).encode()).hexdigest()
    manifest = BundleManifest(
        target=spec.name,  # type: ignore[arg-type]
        bundle_id=bundle_id,
        source_sha256=source_sha256,
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        onnxruntime=onnxruntime,
        files=files,
        parts=parts_used,
        runtimes=dict(runtimes or {}),
    )
    (staging / MANIFEST).write_text(manifest.model_dump_json(indent=2) + "\n")
    shutil.rmtree(out, ignore_errors=True)
    os.replace(staging, out)
    return manifest


def load_bundle(folder: Path, verify: bool = True) -> BundleManifest:
    """A bundle's manifest; with verify, every file's size and sha256 checked against it."""
    path = Path(folder) / MANIFEST
    try:
        manifest = BundleManifest.model_validate_json(path.read_text())
        manifest.check_paths()
    except FileNotFoundError as exc:
        raise HarnessError(f"{folder} is not a runner bundle: no {MANIFEST}") from exc
    except (ValidationError, ValueError) as exc:
        raise HarnessError(f"{path}: not a runner bundle manifest: {exc}") from exc
    if verify:
        for rel, meta in manifest.files.items():
            file = Path(folder) / rel
            if not file.is_file() or file.stat().st_size != meta.size or sha256_of(file) != meta.sha256:
                raise HarnessError(f"runner bundle {folder}: {rel} does not match its manifest (rebuild it with "
                                   f"`harness runner build --target {manifest.target}`)")
    return manifest
