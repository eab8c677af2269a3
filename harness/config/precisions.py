"""The precision names a workload may list: ONNX precisions and GGUF types. Light (no pydantic), so the
runtime registry, which `harness --help` loads, can name them."""

from __future__ import annotations

from typing import Literal, get_args

OnnxPrecision = Literal["fp32", "fp16", "int8", "int8-static", "int4"]
ONNX_PRECISIONS: tuple[OnnxPrecision, ...] = ("fp32", "fp16", "int8", "int8-static", "int4")
#: GGUF types: the precisions of llm workloads (llama.cpp), made with llama.cpp's quantize API
GgufType = Literal["F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0",
                   "Q3_K_M", "Q2_K"]
GGUF_TYPES: tuple[GgufType, ...] = get_args(GgufType)
