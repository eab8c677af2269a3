"""ncnn for the native runner's ncnn kind: a static libncnn built with CMake from ncnn's PyPI sdist.

ncnn's wheels carry no headers or C++ library, its sdist carries the whole C++ source. The sdist
names its version after the day it is built (setup.py: ``1.0.<today>``), so ``pip download`` of
``ncnn==1.0.20261020`` fails "inconsistent version" unless pip runs on that day: it runs under
``faketime`` at the version's own date. The sdist's sha256 is recorded (and checked where known).

Build choices (one static ``libncnn.a`` per target machine, built once into the parts cache):

- CPU only (``NCNN_VULKAN=OFF``): no glslang to build, no Vulkan loader to find on the device;
- no tools, examples, benchmark, tests or Python module;
- aarch64 keeps ``NCNN_RUNTIME_CPU``: the kernels for each ARM level (ARMv8.2 fp16/dotprod, i8mm,
  SVE) are built and picked at run time, which is what makes "fp16" mean fp16 arithmetic on an
  ARMv8.2+ phone while an ARMv8.0 board still runs;
- x86_64 is built once for x86-64-v3 (AVX2 + FMA + F16C, no run-time dispatch): ncnn's dispatch
  builds every layer for SSE2, AVX, FMA, AVX-512 and the VNNI/BF16/FP16 variants (496 objects
  against 198; here it had done 60 in 16 minutes), while x86 boards have Python and the ncnn wheel,
  which dispatches;
  the x86 kind serves parity checks and Python-less x86 boxes from 2013 on (a CPU without AVX2
  stops with SIGILL);
- OpenMP through ncnn's own minimal runtime (``NCNN_SIMPLEOMP``): threads work as with OpenMP but
  no libgomp has to travel in the bundle (a stock phone has none) and nothing else in the runner
  links an OpenMP runtime.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from harness.builds.manifest import sha256_of
from harness.builds.runner.compile import toolchain_args
from harness.builds.runner.parts import INSTALL_HINT, KindParts, _publish, host_version, run_tool
from harness.builds.runner.targets import TargetSpec
from harness.errors import HarnessError

DIST = "ncnn"
#: sdist sha256 of the versions this was tried with (a different download is refused)
KNOWN_SHA256 = {"1.0.20261020": "ad8cdd63e9755cfa8e23b9b6d9ce46156077d80298a89e7c3ba325ffccfca200"}
CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_INSTALL_LIBDIR=lib",
    "-DNCNN_VULKAN=OFF", "-DNCNN_SHARED_LIB=OFF", "-DNCNN_BUILD_TOOLS=OFF", "-DNCNN_BUILD_EXAMPLES=OFF",
    "-DNCNN_BUILD_BENCHMARK=OFF", "-DNCNN_BUILD_TESTS=OFF", "-DNCNN_PYTHON=OFF", "-DNCNN_PIXEL_DRAWING=OFF",
    "-DNCNN_OPENMP=ON", "-DNCNN_SIMPLEOMP=ON",
)
#: per machine, after CMAKE_OPTIONS (see the module's docstring)
MACHINE_OPTIONS = {
    "x86_64": ("-DNCNN_RUNTIME_CPU=OFF", "-DNCNN_AVX2=ON", "-DNCNN_FMA=ON", "-DNCNN_F16C=ON", "-DNCNN_AVX512=OFF",
               "-DNCNN_AVXVNNI=OFF", "-DNCNN_AVXVNNIINT8=OFF", "-DNCNN_AVXVNNIINT16=OFF", "-DNCNN_AVXNECONVERT=OFF",
               "-DNCNN_XOP=OFF"),
    "aarch64": (),
}


def version_date(version: str) -> str:
    """The day an ncnn version was built ("1.0.20261020" -> "2026-10-20"), which pip must see as today."""
    m = re.fullmatch(r"\d+\.\d+\.(\d{4})(\d{2})(\d{2})", version)
    if m is None:
        raise HarnessError(f"ncnn version {version!r} is not 1.0.YYYYMMDD (ncnn's versions are build dates)")
    return "-".join(m.groups())


def host_ncnn_version() -> str:
    return host_version(DIST, "the ncnn runner kind builds at the host's ncnn version, and ncnn is not installed: "
                              "pip install 'harness[runtimes]' (or pass the version)")


def fetch_sdist(version: str, cache: Path) -> tuple[Path, str]:
    """ncnn's sdist (downloaded once into the cache) and its sha256."""
    final = cache / f"ncnn-{version}.tar.gz"
    if not final.is_file():
        faketime = shutil.which("faketime")
        if faketime is None:
            raise HarnessError(f"fetching ncnn's sdist needs faketime (its setup.py names the version after today): "
                               f"apt-get install faketime ({INSTALL_HINT})")
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".ncnn-sdist-", dir=cache) as tmp:
            argv = [faketime, f"{version_date(version)} 12:00:00", sys.executable, "-m", "pip", "download",
                    "--quiet", "--no-deps", "--no-binary", DIST, "-d", tmp, f"{DIST}=={version}"]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)
            got = next(Path(tmp).glob(f"{DIST}-*.tar.gz"), None)
            if proc.returncode != 0 or got is None:
                tail = (proc.stdout + proc.stderr).strip()[-800:]
                raise HarnessError(f"could not download the ncnn {version} sdist from the package index: {tail}")
            os.replace(got, final)
    digest = sha256_of(final)
    want = KNOWN_SHA256.get(version)
    if want is not None and digest != want:
        final.unlink()
        raise HarnessError(f"the ncnn {version} sdist has sha256 {digest}, not the recorded {want}: refused (removed; "
                           f"run again to download it anew)")
    return final, digest


def cross_args(spec: TargetSpec) -> list[str]:
    """The runner's toolchain arguments plus the C compiler (ncnn's project also compiles C)."""
    args = toolchain_args(spec)
    for a in list(args):
        if a.startswith("-DCMAKE_CXX_COMPILER="):
            args.append(f"-DCMAKE_C_COMPILER={spec.triple}-gcc")
    return args


def fetch_ncnn(spec: TargetSpec, version: str, cache: Path) -> KindParts:
    """The target machine's static ncnn (headers + libncnn.a), built once into the parts cache."""
    if spec.ort_from != "wheel" or spec.machine not in MACHINE_OPTIONS:
        raise HarnessError(f"the ncnn runner kind builds for linux-x86_64 and linux-aarch64, not {spec.name}")
    final = cache / f"ncnn-{version}-{spec.machine}"
    if (final / "SOURCE").is_file():
        return _kind(final, version)
    sdist, digest = fetch_sdist(version, cache)
    if shutil.which("cmake") is None:
        raise HarnessError(f"building ncnn needs cmake: apt-get install cmake ({INSTALL_HINT})")
    args = cross_args(spec)
    tmp = Path(tempfile.mkdtemp(prefix=f".ncnn-{spec.machine}-", dir=cache))
    try:
        with tarfile.open(sdist) as tar:
            if hasattr(tarfile, "data_filter"):  # Python >= 3.12 and the security backports
                tar.extractall(tmp / "src", filter="data")
            else:
                tar.extractall(tmp / "src")  # noqa: S202 - the PyPI sdist, its sha256 recorded
        source = next((tmp / "src").iterdir())
        prefix, work = tmp / "out", tmp / "work"
        patch = version.rsplit(".", 1)[1]
        options = (*CMAKE_OPTIONS, *MACHINE_OPTIONS[spec.machine])
        t0 = time.monotonic()
        run_tool(["cmake", "-S", str(source), "-B", str(work), f"-DCMAKE_INSTALL_PREFIX={prefix}",
                  f"-DNCNN_VERSION={patch}", *options, *args], f"configuring ncnn {version} for {spec.name}")
        jobs = str(max(1, min(os.cpu_count() or 1, 4)))
        run_tool(["cmake", "--build", str(work), "--parallel", jobs], f"compiling ncnn {version} for {spec.name}",
                 timeout=7200)
        run_tool(["cmake", "--install", str(work)], f"installing ncnn {version} for {spec.name}")
        minutes = (time.monotonic() - t0) / 60
        (prefix / "SOURCE").write_text(
            f"ncnn-{version}.tar.gz (PyPI sdist, sha256 {digest}) built with CMake for {spec.name} in "
            f"{minutes:.1f} min: {' '.join(options)}\n")  # written last: the folder is complete
        _publish(prefix, final)
        return _kind(final, version)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _kind(root: Path, version: str) -> KindParts:
    # static: nothing travels in the bundle's lib/; CMake links root/lib/libncnn.a
    return KindParts(DIST, version, root / "lib", (), (f"-DNCNN_DIR={root}",), (root / "SOURCE").read_text().strip())
