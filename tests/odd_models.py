"""Models built the way third-party exporters build them, older and odder than ours.

- ``conv_net``: a small conv net at opset 11 (per-channel QDQ on it writes DequantizeLinear
  with ``axis``, which ORT refuses below opset 13).
- ``stateful_vad``: a voice-activity-detector-shaped model: an int64 scalar sample-rate input
  ``sr``, a recurrent ``state`` fed back from ``stateN``, and its weights held as ``Constant``
  nodes inside the two branches of an ``If`` (ORT's quantizers leave those alone).
- ``two_unnamed``: two inputs whose dim 1 has no name and no value (each needs its own binding).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FEATURES, STATE = 64, 32


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def conv_net(path: Path, opset: int = 11, seed: int = 0) -> Path:
    """x[N, 3, 16, 16] -> conv 3x3 (8) -> relu -> conv 3x3 (4) -> y[N, 4, 16, 16]."""
    rng = np.random.default_rng(seed)
    w1 = numpy_helper.from_array((rng.standard_normal((8, 3, 3, 3)) * 0.2).astype(np.float32), "w1")
    b1 = numpy_helper.from_array((rng.standard_normal(8) * 0.1).astype(np.float32), "b1")
    w2 = numpy_helper.from_array((rng.standard_normal((4, 8, 3, 3)) * 0.2).astype(np.float32), "w2")
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
            helper.make_node("Relu", ["c1"], ["r1"]),
            helper.make_node("Conv", ["r1", "w2"], ["y"], pads=[1, 1, 1, 1]),
        ],
        "old_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 16, 16])],
        [w1, b1, w2],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="old-exporter")
    model.ir_version = 7
    return _save(model, path)


def _branch(name: str, seed: int) -> onnx.GraphProto:
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((FEATURES + STATE, STATE)) * 0.1).astype(np.float32)
    nodes = [
        helper.make_node("Constant", [], [f"{name}_w"], value=numpy_helper.from_array(weight, f"{name}_wt")),
        helper.make_node("MatMul", ["xs", f"{name}_w"], [f"{name}_out"]),
    ]
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, None)])


def stateful_vad(path: Path, seed: int = 0) -> Path:
    """(x[N, 64] f32, state[N, 32] f32, sr int64 scalar) -> (y[N, 1], stateN[N, 32])."""
    rate = numpy_helper.from_array(np.array(16000, np.int64), "k16000")
    nodes = [
        helper.make_node("Concat", ["x", "state"], ["xs"], axis=1),
        helper.make_node("Constant", [], ["rate16k"], value=rate),
        helper.make_node("Equal", ["sr", "rate16k"], ["is16k"]),
        helper.make_node("If", ["is16k"], ["h"], then_branch=_branch("then", seed + 1),
                         else_branch=_branch("else", seed + 2)),
        helper.make_node("Tanh", ["h"], ["stateN"]),
        helper.make_node("ReduceMean", ["stateN"], ["y"], axes=[1], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "vad",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, ["N", STATE]),
            helper.make_tensor_value_info("sr", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1]),
            helper.make_tensor_value_info("stateN", TensorProto.FLOAT, ["N", STATE]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="vad-exporter")
    model.ir_version = 8
    return _save(model, path)


def two_unnamed(path: Path) -> Path:
    """(a[N, ?], b[N, ?]) -> y[N] = sum(a, 1) + sum(b, 1): dim 1 of each input is unnamed."""
    nodes = [
        helper.make_node("ReduceSum", ["a"], ["sa"], keepdims=0),
        helper.make_node("ReduceSum", ["b"], ["sb"], keepdims=0),
        helper.make_node("Add", ["sa", "sb"], ["y"]),
    ]
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    nodes[0].input.append("axes")
    nodes[1].input.append("axes")
    graph = helper.make_graph(
        nodes,
        "two_unnamed",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [None, None]),
         helper.make_tensor_value_info("b", TensorProto.FLOAT, [None, None])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])],
        [axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return _save(model, path)


VAD_WORKLOAD = """\
name: vad
kind: generic
model:
  path: vad.onnx
inputs:
  - name: x
    shape: [N, 64]
    range: [-1, 1]
  - name: state
    shape: [N, 32]
    range: [0, 0]
    from_output: stateN
  - name: sr
    shape: []
    dtype: int64
    range: [16000, 16000]
precisions: {precisions}
measure: {{warmup: 1, warmup_s: 0, min_iterations: 20, min_seconds: 0.05, max_seconds: 1}}
"""
