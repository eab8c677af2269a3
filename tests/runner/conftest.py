"""Session fixtures for the native runner: each target is built once per test session, cached
where `harness runner build` puts it (builds/runners/<target>/, or under $HARNESS_BUILDS): a changed
runner/ or onnxruntime builds anew (the bundle's source digest), an unchanged one is reused across
sessions and by the benchmarks (CI compiles each target once), plus qemu user-mode and an ARM adb
rig for the aarch64 bundle."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.builds.runner import RunnerBuild, build_runner, runners_root
from tests.rigs.adb_rig import AdbRig
from tests.rigs.binaries import require_binary
from tests.rigs.qemu import aarch64_binfmt, write_arm_cpuinfo


@pytest.fixture(scope="session")
def runners_test_root() -> Path:
    return runners_root()


def _build(target: str, root: Path, runtimes: tuple[str, ...] = ()) -> RunnerBuild:
    require_binary("cmake", "/usr/bin/cmake", package="cmake")
    return build_runner(target, root, runtimes=runtimes)


@pytest.fixture(scope="session")
def x86_runner(runners_test_root: Path) -> RunnerBuild:
    return _build("linux-x86_64", runners_test_root)


@pytest.fixture(scope="session")
def aarch64_runner(runners_test_root: Path) -> RunnerBuild:
    require_binary("aarch64-linux-gnu-g++", "/usr/bin/aarch64-linux-gnu-g++", package="g++-aarch64-linux-gnu")
    return _build("linux-aarch64", runners_test_root)


@pytest.fixture(scope="session")
def x86_openvino_runner(runners_test_root: Path) -> RunnerBuild:
    """The x86_64 runner with the OpenVINO kind (openvino-linux-x86_64/), against the host's openvino."""
    return _build("linux-x86_64", runners_test_root, ("openvino",))


@pytest.fixture(scope="session")
def aarch64_openvino_runner(runners_test_root: Path) -> RunnerBuild:
    require_binary("aarch64-linux-gnu-g++", "/usr/bin/aarch64-linux-gnu-g++", package="g++-aarch64-linux-gnu")
    return _build("linux-aarch64", runners_test_root, ("openvino",))


@pytest.fixture(scope="session")
def x86_ncnn_runner(runners_test_root: Path) -> RunnerBuild:
    """The x86_64 runner with the ncnn kind (ncnn-linux-x86_64/): libncnn built once from ncnn's sdist."""
    return _build("linux-x86_64", runners_test_root, ("ncnn",))


@pytest.fixture(scope="session")
def aarch64_ncnn_runner(runners_test_root: Path) -> RunnerBuild:
    require_binary("aarch64-linux-gnu-g++", "/usr/bin/aarch64-linux-gnu-g++", package="g++-aarch64-linux-gnu")
    return _build("linux-aarch64", runners_test_root, ("ncnn",))


@pytest.fixture(scope="session")
def arm_cpuinfo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """binfmt_misc sends aarch64 ELF files to qemu; the ARM /proc/cpuinfo a phone would show."""
    with aarch64_binfmt():
        yield write_arm_cpuinfo(tmp_path_factory.mktemp("arm") / "cpuinfo")


@pytest.fixture(scope="session")
def arm_adb_rig(tmp_path_factory: pytest.TempPathFactory, arm_cpuinfo: Path) -> Iterator[AdbRig]:
    """The adbd rig behind the real adb server, every shell seeing an ARM /proc/cpuinfo."""
    rig = AdbRig(tmp_path_factory.mktemp("arm-adb-rig"), cpuinfo=arm_cpuinfo)
    rig.start()
    yield rig
    rig.stop()
