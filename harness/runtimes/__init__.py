"""Runtimes: the engines a backend runs a model on (ONNX Runtime, ncnn, MNN, OpenVINO, LiteRT).

Each runtime is one module with the same three parts: **convert** on the host (the workload's
ONNX model -> the runtime's artifacts per precision, with an honest meaning per precision),
**run** on the device (an adapter in ``harness/agent/agent.py``'s runtime section), and
**probe** (the ``--probe`` line's ``runtimes`` map names the versions a device has). Adding a
runtime touches its module here, its agent adapter and :mod:`harness.runtimes.registry`.
"""

from harness.runtimes.base import CannotMake, Conversion, IoMap, Runtime, TensorMap
from harness.runtimes.registry import ONNXRUNTIME, get_runtime, runtime_names

__all__ = ["ONNXRUNTIME", "CannotMake", "Conversion", "IoMap", "Runtime", "TensorMap", "get_runtime", "runtime_names"]
