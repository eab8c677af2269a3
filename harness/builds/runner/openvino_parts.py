"""OpenVINO for the native runner's OpenVINO kind: headers and libraries from the openvino wheel.

The wheel ships ``openvino/include/`` (C++ headers) and ``openvino/libs/libopenvino.so.<ver>`` (no
unversioned symlink: the runner links it by file name) for x86_64 and aarch64. The runner needs
the core library, TBB, the ONNX frontend (``read_model`` on a .onnx) and the machine's CPU plugin,
which OpenVINO finds beside itself in the bundle's lib/ (no plugins.xml). The x86_64 parts come from
the host's installed wheel when it is the wanted version, the rest from ``pip download``.
"""

from __future__ import annotations

import importlib.metadata
import platform
import re
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from harness.builds.runner.parts import KindParts, _publish, download_wheel, host_version
from harness.builds.runner.targets import TargetSpec
from harness.errors import HarnessError

DIST = "openvino"
#: the CPU plugin each machine's wheel carries
CPU_PLUGINS = {"x86_64": "libopenvino_intel_cpu_plugin.so", "aarch64": "libopenvino_arm_cpu_plugin.so"}
#: pip --platform for the wheel (pip also accepts the older manylinux tags below it)
WHEEL_PLATFORMS = {"x86_64": "manylinux_2_35_x86_64", "aarch64": "manylinux_2_35_aarch64"}


@dataclass(frozen=True)
class OpenVinoParts:
    root: Path  # holds include/ and libs/ (the wheel's openvino/ package folder, trimmed)
    version: str  # the wheel's version ("2026.4.1")
    library: str  # libopenvino.so.<ver>, what the runner links (-l:)
    bundled: tuple[str, ...]  # libs/ files the bundle carries
    source: str  # where they came from (for the manifest)

    @property
    def libs(self) -> Path:
        return self.root / "libs"

    def kind(self) -> KindParts:
        """What the generic runner build needs (runner/CMakeLists.txt's OPENVINO_DIR / OPENVINO_LIBRARY)."""
        return KindParts(DIST, self.version, self.libs, self.bundled,
                         (f"-DOPENVINO_DIR={self.root}", f"-DOPENVINO_LIBRARY={self.library}"), self.source)


def host_openvino_version() -> str:
    return host_version(DIST, "the OpenVINO runner kind builds against the openvino wheel's version on the host, and "
                              "openvino is not installed: pip install 'harness[runtimes]' (or pass the version)")


def _wanted(names: list[str], machine: str) -> tuple[str, tuple[str, ...]]:
    """(the core library, every libs/ file the bundle needs) among the wheel's libs/ names."""
    core = sorted(n for n in names if re.fullmatch(r"libopenvino\.so\.\d+", n))
    onnx = [n for n in names if re.fullmatch(r"libopenvino_onnx_frontend\.so\.\d+", n)]
    plugin = CPU_PLUGINS[machine]
    missing = [what for what, ok in (("libopenvino.so.<ver>", core), ("the ONNX frontend", onnx),
                                     (plugin, plugin in names), ("libtbb.so.12", "libtbb.so.12" in names)) if not ok]
    if missing:
        raise HarnessError(f"the openvino wheel for {machine} lacks {', '.join(missing)} in openvino/libs/")
    return core[-1], (core[-1], onnx[0], plugin, "libtbb.so.12")


def _extract(wheel: Path, machine: str, dest: Path) -> tuple[str, tuple[str, ...]]:
    with zipfile.ZipFile(wheel) as z:
        libs = [n.rsplit("/", 1)[1] for n in z.namelist() if n.startswith("openvino/libs/") and not n.endswith("/")]
        library, bundled = _wanted(libs, machine)
        for name in z.namelist():
            keep = name.startswith("openvino/include/") or name in {f"openvino/libs/{b}" for b in bundled}
            if keep and not name.endswith("/"):
                target = dest / name[len("openvino/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(name) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
    return library, bundled


def _from_host(machine: str, dest: Path) -> tuple[str, tuple[str, ...]]:
    import openvino

    pkg = Path(openvino.__file__).parent
    library, bundled = _wanted([p.name for p in (pkg / "libs").iterdir()], machine)
    shutil.copytree(pkg / "include", dest / "include")
    (dest / "libs").mkdir()
    for name in bundled:
        shutil.copy2(pkg / "libs" / name, dest / "libs" / name)
    return library, bundled


def fetch_openvino(spec: TargetSpec, version: str, cache: Path) -> KindParts:
    """The target machine's OpenVINO headers and libraries (fetched once into the parts cache)."""
    return _fetch(spec, version, cache).kind()


def _fetch(spec: TargetSpec, version: str, cache: Path) -> OpenVinoParts:
    if spec.ort_from != "wheel" or spec.machine not in CPU_PLUGINS:
        raise HarnessError(f"the OpenVINO runner kind builds for linux-x86_64 and linux-aarch64 (glibc, the wheel's "
                           f"libraries), not {spec.name}")
    final = cache / f"openvino-{version}-{spec.machine}"
    if (final / "PARTS").is_file():
        names = (final / "PARTS").read_text().split()
        return OpenVinoParts(final, version, names[0], tuple(names[1:]), (final / "SOURCE").read_text().strip())
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".openvino-", dir=cache))
    try:
        installed = _host_version_or_none()
        if installed == version and sys.platform == "linux" and platform.machine() == spec.machine:
            library, bundled = _from_host(spec.machine, tmp)
            source = f"the host's installed openvino {version} wheel"
        else:
            wheel = download_wheel(DIST, version, WHEEL_PLATFORMS[spec.machine], tmp,
                                   "install that openvino version on the host, or build at one that has a wheel")
            library, bundled = _extract(wheel, spec.machine, tmp)
            source = wheel.name
            wheel.unlink()
        (tmp / "SOURCE").write_text(source + "\n")
        (tmp / "PARTS").write_text(" ".join((library, *bundled)) + "\n")  # written last: the folder is complete
        _publish(tmp, final)
        return OpenVinoParts(final, version, library, bundled, source)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _host_version_or_none() -> str | None:
    try:
        return importlib.metadata.version(DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
