"""OpenVINO: reads the ONNX model directly; precision is a compile-time hint, not a file.

Its CPU plugin's default inference precision is bf16 on CPUs with AVX512-BF16/AMX (f16 on ARM):
fp32 must be asked for (``INFERENCE_PRECISION_HINT: f32``) or rel-L2 vs ORT is ~4e-3.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from harness.runtimes.base import Conversion, IoMap, ModelInfo, Runtime, dist_version

if TYPE_CHECKING:
    from harness.builds.runner.parts import KindParts
    from harness.builds.runner.targets import TargetSpec

HINT = "INFERENCE_PRECISION_HINT"


class OpenVino(Runtime):
    name = "openvino"
    extra = "runtimes"
    converter_dist = "openvino"
    native = True  # the native runner's OpenVINO kind (the wheel ships headers + libopenvino)
    builds_into_runner = True  # `harness runner build --runtime openvino`
    own_modules = ("builds/runner/openvino_parts.py",)
    precisions = {
        "fp32": "f32 compute (INFERENCE_PRECISION_HINT=f32; OpenVINO's CPU default would be bf16/f16)",
        "fp16": ("half-precision compute as OpenVINO's CPU plugin does it (INFERENCE_PRECISION_HINT left to the "
                 "device's default: bf16 on x86 with AVX512-BF16/AMX, f16 on ARM; f32 weights in the file); the "
                 "precision actually applied is recorded per cell"),
    }
    missing_precisions = {
        "int8": "OpenVINO int8 needs NNCF post-training quantization (not installed)",
        "int8-static": "OpenVINO int8 needs NNCF post-training quantization (not installed)",
        "int4": "OpenVINO int4 weight compression needs NNCF (not installed)",
    }

    def native_version(self, requested: str | None = None) -> str:
        from harness.builds.runner.openvino_parts import host_openvino_version

        return requested or host_openvino_version()

    def native_parts(self, spec: TargetSpec, version: str, cache: Path) -> KindParts:
        from harness.builds.runner.openvino_parts import fetch_openvino

        return fetch_openvino(spec, version, cache)

    def option_names(self) -> list[str]:
        return ["num_threads", "device", "performance_hint"]

    def converter_missing(self) -> str | None:
        return None  # nothing to convert: the device's OpenVINO reads the .onnx file

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / "model.onnx"
        shutil.copyfile(model.path, dest)
        settings = {HINT: "f32"} if precision == "fp32" else {}
        return Conversion(
            files={"model": dest},
            converter={"name": "openvino (reads ONNX directly)", "version": dist_version("openvino"),
                       "options": {}},
            meaning=self.precisions[precision],
            io=IoMap.identity(list(model.inputs), model.outputs),
            settings=settings,
        )
