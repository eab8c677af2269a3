"""What a runner build with another runtime's kind takes and refuses (no compiler run here)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from harness.builds.runner import build_runner, bundle_name, runner_runtimes, source_sha256
from harness.builds.runner.openvino_parts import _extract
from harness.errors import HarnessError

WHEEL_LIBS = ["libopenvino.so.2641", "libopenvino_onnx_frontend.so.2641", "libopenvino_ir_frontend.so.2641",
              "libopenvino_intel_gpu_plugin.so", "libtbb.so.12", "libtbbmalloc.so.2", "cache.json"]


def _wheel(path: Path, libs: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("openvino/include/openvino/openvino.hpp", "// headers\n")
        z.writestr("openvino/__init__.py", "")
        for name in libs:
            z.writestr(f"openvino/libs/{name}", name)
    return path


def test_the_bundle_takes_core_tbb_onnx_frontend_and_the_machines_cpu_plugin_only(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ov.whl", [*WHEEL_LIBS, "libopenvino_arm_cpu_plugin.so"])
    library, bundled = _extract(wheel, "aarch64", tmp_path / "out")
    assert library == "libopenvino.so.2641"
    assert set(bundled) == {"libopenvino.so.2641", "libopenvino_onnx_frontend.so.2641",
                            "libopenvino_arm_cpu_plugin.so", "libtbb.so.12"}
    assert sorted(p.name for p in (tmp_path / "out" / "libs").iterdir()) == sorted(bundled)
    assert (tmp_path / "out" / "include" / "openvino" / "openvino.hpp").is_file()


def test_a_wheel_without_the_machines_cpu_plugin_is_refused_by_name(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "ov.whl", [*WHEEL_LIBS, "libopenvino_arm_cpu_plugin.so"])
    with pytest.raises(HarnessError, match="lacks libopenvino_intel_cpu_plugin.so"):
        _extract(wheel, "x86_64", tmp_path / "out")


def test_runtimes_the_runner_cannot_be_built_with_are_refused(tmp_path: Path) -> None:
    assert runner_runtimes() == ["ncnn", "openvino"]
    for name, says in (("mnn", "cannot be built with mnn (it can with ncnn, openvino)"), ("tvm", "unknown runtime")):
        with pytest.raises(HarnessError, match=says.replace("(", r"\(").replace(")", r"\)")):
            build_runner("linux-x86_64", tmp_path, runtimes=(name,))
    assert not list(tmp_path.iterdir())  # refused before fetching or writing anything


def test_a_built_in_runtime_gets_its_own_bundle_and_digest() -> None:
    assert bundle_name("linux-aarch64", ("openvino",)) == "openvino-linux-aarch64"
    assert bundle_name("linux-aarch64") == "linux-aarch64"
    plain = source_sha256("linux-x86_64", "1.32.0")
    assert source_sha256("linux-x86_64", "1.32.0", kinds={}) == plain  # plain bundles keep their digest
    assert source_sha256("linux-x86_64", "1.32.0", kinds={"openvino": "2026.4.1"}) != plain
    assert (source_sha256("linux-x86_64", "1.32.0", kinds={"openvino": "2026.4.1"})
            != source_sha256("linux-x86_64", "1.32.0", kinds={"openvino": "2026.3.0"}))
