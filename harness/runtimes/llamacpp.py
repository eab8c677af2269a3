"""llama.cpp: GGUF language models (workload kind ``llm``) on the native LLM runner (runner/llm/).

Unlike the other runtimes it converts no ONNX model: an llm workload's precisions are GGUF types,
made at build time with llama.cpp's own quantize API from the highest-precision weights available
(harness.builds.gguf), and recorded in the build's manifest under this runtime. The device side
is the LLM runner bundle (``harness runner build --kind llm``), linked against libllama; the
Python agent has no llama.cpp adapter.
"""

from __future__ import annotations

from pathlib import Path

from harness.runtimes.base import CannotMake, Conversion, ModelInfo, Runtime

LLAMACPP = "llama.cpp"


class LlamaCpp(Runtime):
    name = LLAMACPP
    precisions = {
        "F32": "fp32 weights (GGUF F32)",
        "F16": "fp16 weights (GGUF F16); for a model published quantized, its dequantization: the reference",
        "BF16": "bf16 weights (GGUF BF16)",
        "Q8_0": "8-bit weights in blocks of 32 with one fp16 scale (GGUF Q8_0)",
        "Q6_K": "6-bit k-quant weights (GGUF Q6_K)",
        "Q5_K_M": "5-bit k-quant mix (GGUF Q5_K_M)",
        "Q5_0": "5-bit weights in blocks of 32 (GGUF Q5_0)",
        "Q4_K_M": "4-bit k-quant mix, some tensors at 6 bits (GGUF Q4_K_M)",
        "Q4_K_S": "4-bit k-quant (GGUF Q4_K_S)",
        "Q4_1": "4-bit weights in blocks of 32 with scale and minimum (GGUF Q4_1)",
        "Q4_0": "4-bit weights in blocks of 32 with one scale (GGUF Q4_0)",
        "Q3_K_M": "3-bit k-quant mix (GGUF Q3_K_M)",
        "Q2_K": "2-bit k-quant (GGUF Q2_K)",
    }
    missing_precisions = {p: "llama.cpp runs GGUF types (F16, Q8_0, Q4_0, Q4_K_M, ...), not ONNX precisions"
                          for p in ("fp32", "fp16", "int8", "int8-static", "int4")}
    workload_kinds = frozenset({"llm"})
    native = True
    agent_adapter = False
    own_modules = ("builds/runner/llm.py", "builds/runner/llama_parts.py", "builds/runner/llama_bench.py", "builds/gguf.py",
                   "builds/gguf_quality.py")

    def cannot_run(self, workload_kind: str) -> str | None:
        if workload_kind in self.workload_kinds:
            return None
        return f"llama.cpp runs llm workloads (GGUF models), not {workload_kind}"

    def option_names(self) -> tuple[str, ...]:
        return ()

    def source_precision(self, precision: str) -> str:
        return precision  # the build's own GGUF file of that type

    def converter_missing(self) -> str | None:
        return None

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        raise CannotMake("llama.cpp's GGUF files are made when the llm workload is built (harness.builds.gguf), not "
                         "converted from ONNX")
