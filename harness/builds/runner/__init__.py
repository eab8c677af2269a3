"""Native runner builds: runner/ (C++17, protocol 1) compiled per target into a portable bundle.

``build_runner(target, root)`` fetches the parts (parts.py), compiles (compile.py) and assembles
``<root>/<target>/`` with a manifest (bundle.py); an identical build is reused. A device profile
names a built target (``runner: {kind: native, build: linux-aarch64}``) or a bundle path.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from harness.builds.runner.bundle import LAUNCHER, MANIFEST, BundleManifest, assemble, load_bundle
from harness.builds.runner.compile import compile_runner, require_ndk
from harness.builds.runner.parts import HEADERS_PACKAGE, HEADERS_VERSION, fetch_parts, host_ort_version
from harness.builds.runner.targets import SPECS, TARGETS, RunnerTarget, TargetSpec, target_spec
from harness.config.loader import project_root
from harness.errors import HarnessError

__all__ = [
    "LAUNCHER",
    "MANIFEST",
    "SPECS",
    "TARGETS",
    "BundleManifest",
    "RunnerBuild",
    "RunnerTarget",
    "TargetSpec",
    "build_runner",
    "load_bundle",
    "resolve_runner",
    "runner_sources",
    "runners_root",
    "source_sha256",
]


@dataclass(frozen=True)
class RunnerBuild:
    path: Path
    manifest: BundleManifest
    reused: bool


def runner_sources() -> Path:
    """The C++ sources (runner/ in the checkout harness runs from)."""
    for root in (project_root(), Path(__file__).resolve().parents[3]):
        if (root / "runner" / "CMakeLists.txt").is_file():
            return root / "runner"
    raise HarnessError("runner/ sources not found: build runners from a source checkout of harness (pip install -e .)")


def runners_root() -> Path:
    """builds/runners under $HARNESS_BUILDS or the project's builds/."""
    return Path(os.environ.get("HARNESS_BUILDS", project_root() / "builds")) / "runners"


def source_sha256(target: str, ort_version: str, source: Path | None = None) -> str:
    """What decides a build's content: the sources, the target, the ORT version and the headers."""
    source = source or runner_sources()
    h = hashlib.sha256(f"{target}\0{ort_version}\0{HEADERS_PACKAGE}@{HEADERS_VERSION}\0".encode())
    for path in sorted(p for p in source.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        h.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def reusable_bundle(out: Path, digest: str) -> RunnerBuild | None:
    """The bundle already at ``out`` when it was built from the same sources (``digest``), else None."""
    if not (out / MANIFEST).is_file():
        return None
    try:
        existing = load_bundle(out)
    except HarnessError:
        return None
    return RunnerBuild(out, existing, reused=True) if existing.source_sha256 == digest else None


def build_runner(target: str, root: Path | None = None, *, ort_version: str | None = None,
                 force: bool = False) -> RunnerBuild:
    """Build (or reuse) ``<root>/<target>/``."""
    spec = target_spec(target)
    if spec.ort_from == "aar":
        require_ndk(spec)  # refuse before fetching anything
    root = root or runners_root()
    out = root / target
    source = runner_sources()
    version = "aar" if spec.ort_from == "aar" else (ort_version or host_ort_version())
    digest = source_sha256(target, version, source)
    reused = None if force else reusable_bundle(out, digest)
    if reused is not None:
        return reused
    parts = fetch_parts(spec, ort_version)
    binary = compile_runner(spec, parts, source, root / ".work" / target, digest[:12])
    manifest = assemble(spec, binary, parts, out, digest)
    return RunnerBuild(out, manifest, reused=False)


def resolve_runner(build: str | None, path: str | None, root: Path | None = None) -> tuple[Path, BundleManifest | None]:
    """A profile's runner on the host: a built target's bundle, a bundle folder, or one executable."""
    if build is not None:
        folder = (root or runners_root()) / build
        if not (folder / MANIFEST).is_file():
            raise HarnessError(f"runner target {build} is not built at {folder}: run `harness runner build --target "
                               f"{build}` first")
        manifest = load_bundle(folder)
        if manifest.target != build:
            raise HarnessError(f"{folder} holds a {manifest.target} runner, not {build}: rebuild it with "
                               f"`harness runner build --target {build}`")
        return folder, manifest
    assert path is not None
    p = Path(path).expanduser()
    if p.is_dir():
        return p, load_bundle(p)
    if not p.is_file():
        raise HarnessError(f"runner path {p} does not exist (a runner bundle folder or an executable)")
    return p, None
