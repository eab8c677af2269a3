"""The parts a runner build needs, fetched with the registries' own clients and cached per machine.

- ``libonnxruntime`` for Linux: inside the onnxruntime wheel (``onnxruntime/capi/``), x86_64 and
  aarch64, at the host's onnxruntime version so both runners run the same ORT.
- The C/C++ headers and ORT's Android library: the AAR inside the npm package
  ``com.github.asus4.onnxruntime`` (MIT), ``headers/`` and ``jni/arm64-v8a/libonnxruntime.so``.
- nlohmann/json: Debian ``nlohmann-json3-dev`` (header-only), copied so a cross build never sees
  the host's /usr/include.
- Another runtime's kind (``harness runner build --runtime NAME``): its runtime module's native hook
  (``Runtime.native_parts``) fetches a :class:`KindParts`.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.builds.runner.targets import TargetSpec
from harness.errors import HarnessError

HEADERS_PACKAGE = "com.github.asus4.onnxruntime"
HEADERS_VERSION = "0.4.9"  # ORT 1.29 headers (ORT_API_VERSION 29) and Android AAR
AAR_IN_PACKAGE = "package/Plugins/Android/onnxruntime.aar"
JSON_HEADERS = Path("/usr/include/nlohmann")
INSTALL_HINT = "bash scripts/install-test-deps.sh installs every part a runner build needs"


@dataclass(frozen=True)
class KindParts:
    """A runtime the runner is built with beside ONNX Runtime: what CMake is told, what the bundle carries."""

    runtime: str  # its name (the job's runtime.name, the probe's runtimes key)
    version: str
    libs: Path  # the folder holding ``bundled``
    bundled: tuple[str, ...]  # library files the bundle carries in lib/
    cmake_args: tuple[str, ...]  # -D options that compile its kind in (runner/CMakeLists.txt)
    source: str  # where they came from (for the manifest)


@dataclass
class Parts:
    ort_include: Path
    ort_library: Path  # the libonnxruntime file the runner links and the bundle carries
    ort_version: str
    json_include: Path  # a folder holding nlohmann/json.hpp
    sources: dict[str, str] = field(default_factory=dict)  # what came from where (for the manifest)
    kinds: list[KindParts] = field(default_factory=list)  # other runtimes' kinds built in


def parts_cache() -> Path:
    env = os.environ.get("HARNESS_RUNNER_PARTS")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "harness" / "runner-parts"


def host_version(dist: str, missing: str) -> str:
    """The version of a distribution installed on the host, which a runner kind builds against by default;
    ``missing`` is the error when it is not installed."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError as exc:
        raise HarnessError(missing) from exc


def host_ort_version() -> str:
    return host_version("onnxruntime", "onnxruntime is not installed on the host: pip install onnxruntime")


def run_tool(argv: list[str], what: str, cwd: Path | None = None, timeout: float = 900) -> str:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise HarnessError(f"{what}: {argv[0]} not found ({INSTALL_HINT})") from exc
    except subprocess.TimeoutExpired as exc:
        raise HarnessError(f"{what}: `{' '.join(argv)}` did not finish in {timeout:.0f} s") from exc
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip()[-1500:]
        raise HarnessError(f"{what}: `{' '.join(argv)}` exited {proc.returncode}:\n{tail}")
    return proc.stdout


def _publish(tmp: Path, final: Path) -> Path:
    """Move a finished folder into the cache; another process that got there first wins."""
    try:
        os.replace(tmp, final)
    except OSError:
        if not final.is_dir():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def android_archive(cache: Path) -> Path:
    """Folder with the AAR's ``headers/`` and ``jni/arm64-v8a/libonnxruntime.so`` (fetched once)."""
    final = cache / f"npm-{HEADERS_PACKAGE}-{HEADERS_VERSION}"
    if (final / "headers" / "onnxruntime_cxx_api.h").is_file():
        return final
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".npm-", dir=cache))
    try:
        spec = f"{HEADERS_PACKAGE}@{HEADERS_VERSION}"
        if shutil.which("npm") is None:
            raise HarnessError(f"fetching the ONNX Runtime headers needs npm (npm pack {spec}); {INSTALL_HINT}")
        run_tool(["npm", "pack", "--silent", "--pack-destination", str(tmp), spec], f"npm pack {spec}", cwd=tmp)
        tgz = next(tmp.glob("*.tgz"), None)
        if tgz is None:
            raise HarnessError(f"npm pack {spec} wrote no tarball in {tmp}")
        with tarfile.open(tgz) as tar:
            member = tar.getmember(AAR_IN_PACKAGE)
            src = tar.extractfile(member)
            if src is None:
                raise HarnessError(f"{spec}: {AAR_IN_PACKAGE} is not a file")
            with open(tmp / "onnxruntime.aar", "wb") as dst:
                shutil.copyfileobj(src, dst)
        tgz.unlink()
        with zipfile.ZipFile(tmp / "onnxruntime.aar") as aar:
            for name in aar.namelist():
                if (name.startswith("headers/") and not name.endswith("/")) or name == "jni/arm64-v8a/libonnxruntime.so":
                    aar.extract(name, tmp)
        (tmp / "onnxruntime.aar").unlink()
        return _publish(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _installed_library(version: str) -> Path | None:
    """The host's own libonnxruntime, when it is the wheel this target wants."""
    try:
        import onnxruntime
    except ImportError:
        return None
    lib = Path(onnxruntime.__file__).parent / "capi" / f"libonnxruntime.so.{version}"
    return lib if lib.is_file() and onnxruntime.__version__ == version else None


def wheel_library(spec: TargetSpec, version: str, cache: Path) -> tuple[Path, str]:
    """libonnxruntime.so.<version> for the target's platform, and where it came from."""
    final = cache / f"onnxruntime-{version}-{spec.wheel_platform}"
    lib = final / f"libonnxruntime.so.{version}"
    if lib.is_file():
        return lib, (final / "SOURCE").read_text().strip()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".ort-", dir=cache))
    try:
        installed = _installed_library(version)
        if installed is not None and sys.platform == "linux" and platform.machine() == spec.machine:
            shutil.copy2(installed, tmp / lib.name)
            source = f"the host's installed onnxruntime {version} wheel"
        else:
            wheel = _download_wheel(spec, version, tmp)
            with zipfile.ZipFile(wheel) as z:
                member = f"onnxruntime/capi/libonnxruntime.so.{version}"
                try:
                    with z.open(member) as src, open(tmp / lib.name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                except KeyError as exc:
                    raise HarnessError(f"{wheel.name} has no {member}") from exc
            source = wheel.name
            wheel.unlink()
        (tmp / "SOURCE").write_text(source + "\n")
        _publish(tmp, final)
        return lib, source
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def download_wheel(dist: str, version: str, wheel_platform: str, dest: Path, fix: str) -> Path:
    """pip download ``dist==version`` for a platform (any CPython that has a wheel); ``fix`` ends the error."""
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    tried = []
    for py in dict.fromkeys([here, "3.12", "3.11", "3.13", "3.10"]):
        argv = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                "--platform", wheel_platform, "--python-version", py, "--implementation", "cp",
                "-d", str(dest), f"{dist}=={version}"]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
        wheel = next(dest.glob(f"{dist}-*.whl"), None)
        if proc.returncode == 0 and wheel is not None:
            return wheel
        tried.append(f"Python {py}: {proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode}")
    raise HarnessError(f"no {dist} {version} wheel for {wheel_platform} on the package index ({'; '.join(tried)}); "
                       f"{fix}")


def _download_wheel(spec: TargetSpec, version: str, dest: Path) -> Path:
    """pip download the onnxruntime wheel for the target platform."""
    assert spec.wheel_platform
    return download_wheel("onnxruntime", version, spec.wheel_platform, dest,
                          "pass --ort-version with a version that has one")


def json_headers(cache: Path) -> Path:
    final = cache / "nlohmann-json"
    if (final / "nlohmann" / "json.hpp").is_file():
        return final
    if not (JSON_HEADERS / "json.hpp").is_file():
        raise HarnessError(f"nlohmann/json headers not found at {JSON_HEADERS}: apt-get install nlohmann-json3-dev "
                           f"({INSTALL_HINT})")
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".json-", dir=cache))
    shutil.copytree(JSON_HEADERS, tmp / "nlohmann")
    return _publish(tmp, final)


def fetch_parts(spec: TargetSpec, ort_version: str | None = None, cache: Path | None = None) -> Parts:
    cache = cache or parts_cache()
    archive = android_archive(cache)
    sources = {"headers": f"npm {HEADERS_PACKAGE}@{HEADERS_VERSION} (onnxruntime.aar headers/)"}
    if spec.ort_from == "aar":
        lib = archive / "jni" / "arm64-v8a" / "libonnxruntime.so"
        version = "1.29 (Android AAR)"
        sources["libonnxruntime"] = f"npm {HEADERS_PACKAGE}@{HEADERS_VERSION} (onnxruntime.aar jni/arm64-v8a)"
    else:
        version = ort_version or host_ort_version()
        lib, origin = wheel_library(spec, version, cache)
        sources["libonnxruntime"] = origin
    sources["nlohmann-json"] = f"Debian nlohmann-json3-dev ({JSON_HEADERS})"
    return Parts(archive / "headers", lib, version, json_headers(cache), sources)
