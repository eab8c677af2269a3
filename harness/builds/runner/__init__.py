"""Native runner builds: runner/ (C++17, protocol 1) compiled per target into a portable bundle.

``build_runner(target, root)`` fetches the parts (parts.py), compiles (compile.py) and assembles
``<root>/<target>/`` with a manifest (bundle.py); an identical build is reused. A device profile
names a built target (``runner: {kind: native, build: linux-aarch64}``) or a bundle path.
``build_runner(target, root, runtimes=(NAME,))`` adds another runtime's kind, whose parts its runtime
module's native hook fetches (``Runtime.native_parts``), and writes ``<root>/NAME-<target>/``, which a
profile names by path (``runner: {kind: native, push: builds/runners/NAME-linux-x86_64}``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from harness.builds.runner.bundle import LAUNCHER, MANIFEST, BundleManifest, assemble, load_bundle
from harness.builds.runner.compile import compile_runner, require_ndk
from harness.builds.runner.parts import HEADERS_PACKAGE, HEADERS_VERSION, fetch_parts, host_ort_version, parts_cache
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
    "bundle_name",
    "load_bundle",
    "resolve_runner",
    "runner_runtimes",
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


def runner_runtimes() -> list[str]:
    """Runtimes the native runner can be built with beside ONNX Runtime (`harness runner build --runtime`)."""
    from harness.runtimes.registry import get_runtime, runtime_names  # the registry imports builds lazily

    return [n for n in runtime_names() if get_runtime(n).builds_into_runner]


def bundle_name(target: str, runtimes: tuple[str, ...] = ()) -> str:
    """The bundle's folder under the runners root: the target, prefixed by any runtime built in."""
    return "-".join((*runtimes, target))


def source_sha256(target: str, ort_version: str, source: Path | None = None,
                  kinds: Mapping[str, str] | None = None) -> str:
    """What decides a build's content: the sources, the target, the ORT version and the headers
    (and each built-in runtime's version, ``kinds``)."""
    source = source or runner_sources()
    head = f"{target}\0{ort_version}\0{HEADERS_PACKAGE}@{HEADERS_VERSION}\0"
    head += "".join(f"{name}@{v}\0" for name, v in sorted((kinds or {}).items()))
    h = hashlib.sha256(head.encode())
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
                 force: bool = False, runtimes: tuple[str, ...] = (),
                 runtime_versions: Mapping[str, str] | None = None) -> RunnerBuild:
    """Build (or reuse) ``<root>/<target>/``, or ``<root>/<runtimes>-<target>/`` with other runtimes'
    kinds built in (each at ``runtime_versions[name]``, default the host's)."""
    from harness.runtimes.registry import get_runtime

    spec = target_spec(target)
    kinds = [get_runtime(r) for r in dict.fromkeys(runtimes)]
    cannot = [rt.name for rt in kinds if not rt.builds_into_runner]
    if cannot:
        raise HarnessError(f"the native runner cannot be built with {', '.join(cannot)} (it can with "
                           f"{', '.join(runner_runtimes()) or 'none'}); run that runtime through the Python agent")
    if spec.ort_from == "aar":
        require_ndk(spec)  # refuse before fetching anything
    versions = {rt.name: rt.native_version((runtime_versions or {}).get(rt.name)) for rt in kinds}
    root = root or runners_root()
    name = bundle_name(target, tuple(sorted(versions)))
    out = root / name
    source = runner_sources()
    version = "aar" if spec.ort_from == "aar" else (ort_version or host_ort_version())
    digest = source_sha256(target, version, source, kinds=versions)
    reused = None if force else reusable_bundle(out, digest)
    if reused is not None:
        return reused
    parts = fetch_parts(spec, ort_version)
    for rt in kinds:
        kind = rt.native_parts(spec, versions[rt.name], parts_cache())
        parts.kinds.append(kind)
        parts.sources[rt.name] = kind.source
    binary = compile_runner(spec, parts, source, root / ".work" / name, digest[:12])
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
