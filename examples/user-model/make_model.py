"""Write a small user ONNX model (model.onnx) for the user-model example workload.

A stand-in for a team's own exported model: a 2-layer MLP tagger over a [batch, seq, 64]
feature tensor with symbolic batch/seq dims, plus an int64 mask input.
Usage: python make_model.py [OUT_DIR]   (default: this folder)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def make_model(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    w1 = rng.uniform(-1 / 8, 1 / 8, (64, 128)).astype(np.float32)
    w2 = rng.uniform(-1 / np.sqrt(128), 1 / np.sqrt(128), (128, 32)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["features", "w1"], ["h"]),
        helper.make_node("Relu", ["h"], ["a"]),
        helper.make_node("MatMul", ["a", "w2"], ["z"]),
        helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "axis"], ["mask3"]),
        helper.make_node("Mul", ["z", "mask3"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "user_tagger",
        [
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", "seq", 64]),
            helper.make_tensor_value_info("mask", TensorProto.INT64, ["batch", "seq"]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", "seq", 32])],
        [
            numpy_helper.from_array(w1, "w1"),
            numpy_helper.from_array(w2, "w2"),
            numpy_helper.from_array(np.array([-1], np.int64), "axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)], producer_name="user-ci")
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def main(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    path.write_bytes(make_model().SerializeToString())
    return path


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent))
