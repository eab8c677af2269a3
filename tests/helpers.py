"""Small real ONNX models for tests (built with onnx.helper; IR 10 so ORT 1.31 loads them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def tiny_mlp(path: Path, width: int = 64, seed: int = 0) -> Path:
    """x[b, width] -> relu(x @ W1) @ W2 -> y[b, 10]; symbolic batch dim."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array((rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32), "W1")
    w2 = numpy_helper.from_array((rng.standard_normal((width, 10)) / np.sqrt(width)).astype(np.float32), "W2")
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "W1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("MatMul", ["r", "W2"], ["y"]),
        ],
        "tiny_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])],
        [w1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def broken_int8(path: Path) -> Path:
    """Same I/O as ``tiny_mlp``, valid ONNX, but the Reshape cannot hold 64 values: fails at run time."""
    w = numpy_helper.from_array(np.ones((63, 10), dtype=np.float32), "W")
    shape = numpy_helper.from_array(np.array([-1, 63], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("MatMul", ["r", "W"], ["y"])],
        "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])], [w, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def tiny_mlp_workload(name: str, measure: dict[str, object], *, precisions: str = "[fp32]", batch_sizes: str = "[1]",
                      input_range: str | None = "[-1, 1]", extra: str = "") -> str:
    """The YAML of a generic workload on a ``tiny_mlp`` saved as tiny.onnx (input x: [batch, 64] float32,
    uniform in ``input_range``; None: the default range). ``extra``: more top-level lines."""
    text = f"""\
name: {name}
kind: generic
model:
  path: tiny.onnx
inputs:
  - name: x
    shape: [batch, 64]
    dtype: float32
"""
    if input_range is not None:
        text += f"    range: {input_range}\n"
    text += f"batch_sizes: {batch_sizes}\nprecisions: {precisions}\nmeasure:\n"
    text += "".join(f"  {key}: {value}\n" for key, value in measure.items())
    return text + extra


def tiny_workloads(root: Path, workload_yaml: str) -> Path:
    """A workloads folder holding tiny.onnx (a ``tiny_mlp``) and tiny.yaml naming it."""
    folder = root / "workloads"
    folder.mkdir()
    tiny_mlp(folder / "tiny.onnx")
    (folder / "tiny.yaml").write_text(workload_yaml)
    return folder
