"""ONNX Runtime: the default runtime. Its artifacts are the build's own ONNX variants."""

from __future__ import annotations

from pathlib import Path

from harness.config.precisions import GGUF_TYPES
from harness.runtimes.base import Conversion, IoMap, ModelInfo, Runtime, dist_version

#: llm: an llm workload's ONNX precisions (its decoder built from the reference GGUF), llama-bench's tests
ALL_KINDS = frozenset({"image-classification", "generic", "text-generation", "translation", "llm"})


class OnnxRuntime(Runtime):
    name = "onnxruntime"
    precisions = {
        "fp32": "fp32 weights and compute",
        "fp16": "fp16 weights and compute where the execution provider has fp16 kernels (Cast nodes elsewhere)",
        "int8": "dynamic int8: int8 weights, activations quantized per call (QDQ/integer ops)",
        "int8-static": "static int8: int8 weights and activations, scales from calibration data",
        "int4": "int4 weight-only MatMul (MatMulNBits); other ops stay fp32",
    }
    missing_precisions = {p: "GGUF types run on a GGUF runtime's backend; ONNX Runtime runs an llm workload's ONNX "
                             "precisions (fp32, fp16, int8, int4 of its decoder built from the reference GGUF)"
                          for p in GGUF_TYPES}
    workload_kinds = ALL_KINDS
    native = True

    def source_precision(self, precision: str) -> str:
        return precision  # the build's own variant, run as is

    def converter_missing(self) -> str | None:
        return None

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        """Nothing to convert: the build's ONNX variant is the artifact (never copied)."""
        return Conversion(files={"model": model.path},
                          converter={"name": "onnxruntime", "version": dist_version("onnxruntime"), "options": {}},
                          meaning=self.precisions[precision],
                          io=IoMap.identity(list(model.inputs), model.outputs))
