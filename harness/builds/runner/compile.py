"""Compile runner/ with CMake for one target: the host compiler, a Debian cross compiler, or the NDK."""

from __future__ import annotations

import os
import platform
import shutil
from pathlib import Path

from harness.builds.runner.parts import INSTALL_HINT, Parts, run_tool
from harness.builds.runner.targets import TargetSpec
from harness.errors import HarnessError

ANDROID_PLATFORM = "android-27"  # NNAPI's first API level with what ORT's NNAPI EP needs


def ndk_home() -> Path | None:
    for var in ("ANDROID_NDK_HOME", "ANDROID_NDK_ROOT"):
        value = os.environ.get(var)
        if value:
            return Path(value)
    return None


def require_ndk(spec: TargetSpec) -> Path:
    """The NDK's CMake toolchain file; a clear refusal when there is none."""
    ndk = ndk_home()
    if ndk is None:
        raise HarnessError(
            f"runner target {spec.name} needs the Android NDK: set ANDROID_NDK_HOME to an NDK (r25 or newer) and run "
            "again. Without it, `harness runner build --target linux-aarch64` makes a bundle that runs the CPU EP on a "
            "stock phone; NNAPI and XNNPACK need this build"
        )
    toolchain = ndk / "build" / "cmake" / "android.toolchain.cmake"
    if not toolchain.is_file():
        raise HarnessError(f"ANDROID_NDK_HOME={ndk} is not an Android NDK: {toolchain} does not exist")
    return toolchain


def toolchain_args(spec: TargetSpec) -> list[str]:
    if spec.ort_from == "aar":
        return [f"-DCMAKE_TOOLCHAIN_FILE={require_ndk(spec)}", "-DANDROID_ABI=arm64-v8a",
                f"-DANDROID_PLATFORM={ANDROID_PLATFORM}", "-DANDROID_STL=c++_static"]
    if platform.system() == "Linux" and platform.machine() == spec.machine:
        return []
    compiler = f"{spec.triple}-g++"
    if shutil.which(compiler) is None:
        raise HarnessError(
            f"runner target {spec.name} is cross-compiled here with {compiler}: apt-get install g++-{spec.triple} "
            f"({INSTALL_HINT})"
        )
    return ["-DCMAKE_SYSTEM_NAME=Linux", f"-DCMAKE_SYSTEM_PROCESSOR={spec.machine}", f"-DCMAKE_CXX_COMPILER={compiler}"]


def compile_runner(spec: TargetSpec, parts: Parts, source: Path, work: Path, version: str) -> Path:
    """Configure and build; returns the ort_runner binary."""
    if shutil.which("cmake") is None:
        raise HarnessError(f"building the runner needs cmake: apt-get install cmake ({INSTALL_HINT})")
    args = toolchain_args(spec)
    kind_args = [a for kind in parts.kinds for a in kind.cmake_args]  # other runtimes' kinds built in
    work.mkdir(parents=True, exist_ok=True)
    run_tool(["cmake", "-S", str(source), "-B", str(work), "-DCMAKE_BUILD_TYPE=Release",
          f"-DORT_INCLUDE_DIR={parts.ort_include}", f"-DORT_LIBRARY_NAME={spec.ort_library_name}",
          f"-DJSON_INCLUDE_DIR={parts.json_include}", f"-DHARNESS_RUNNER_TARGET={spec.name}",
          f"-DHARNESS_RUNNER_VERSION={version}", *kind_args, *args], f"configuring the {spec.name} runner")
    jobs = str(max(1, min(os.cpu_count() or 1, 4)))
    run_tool(["cmake", "--build", str(work), "--parallel", jobs], f"compiling the {spec.name} runner", timeout=1800)
    binary = work / "ort_runner"
    if not binary.is_file():
        raise HarnessError(f"the {spec.name} build finished without {binary}")
    return binary
