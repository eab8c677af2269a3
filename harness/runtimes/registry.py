"""The runtimes harness knows, by the name a backend gives in ``runtime:``.

Adding a runtime: its module in this package, its adapter in the agent's runtime section, and
one line here (tests/runtimes/test_registry.py checks the three agree)."""

from __future__ import annotations

from harness.errors import HarnessError
from harness.runtimes.base import Runtime
from harness.runtimes.coreml import CoreMl
from harness.runtimes.litert import LiteRT
from harness.runtimes.llamacpp import LlamaCpp
from harness.runtimes.mnn import Mnn
from harness.runtimes.ncnn import Ncnn
from harness.runtimes.nnapi import Nnapi
from harness.runtimes.onnxruntime import OnnxRuntime
from harness.runtimes.onnxruntime_genai import OnnxRuntimeGenAI
from harness.runtimes.openvino import OpenVino
from harness.runtimes.qnn import Qnn
from harness.runtimes.tensorrt import TensorRt

ONNXRUNTIME = "onnxruntime"

RUNTIMES: dict[str, Runtime] = {rt.name: rt for rt in (OnnxRuntime(), Ncnn(), Mnn(), OpenVino(), LiteRT(),
                                                OnnxRuntimeGenAI(), LlamaCpp(), TensorRt(), CoreMl(), Qnn(),
                                                Nnapi())}


def runtime_names() -> list[str]:
    return list(RUNTIMES)


def get_runtime(name: str) -> Runtime:
    try:
        return RUNTIMES[name]
    except KeyError:
        raise HarnessError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}") from None
