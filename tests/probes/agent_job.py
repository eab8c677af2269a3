"""A tiny ONNX model and an agent job (protocol 1) carrying the probe plan, for the probe tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from harness.probes import ProbePlan

AGENT = Path(__file__).resolve().parents[2] / "harness" / "agent" / "agent.py"
N = 128


def tiny_model(path: Path, n: int = N) -> Path:
    rng = np.random.default_rng(0)
    w = helper.make_tensor("w", TensorProto.FLOAT, [n, n], rng.standard_normal((n, n)).astype(np.float32).ravel())
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Relu", ["h"], ["y"])]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, n])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])],
        initializer=[w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10  # onnx 1.23 writes IR 14; ORT 1.31 loads at most 13
    onnx.save(model, path)
    return path


def tiny_inputs(path: Path, n: int = N) -> Path:
    np.savez(path, **{"/x": np.ones((1, n), np.float32)})
    return path


def make_job(model: str, inputs: str, plan: ProbePlan, out_dir: str, min_seconds: float = 1.5) -> dict[str, Any]:
    return {
        "protocol": 1,
        "kind": "single",
        "models": {"model": model},
        "inputs": inputs,
        "params": {},
        "provider": "CPUExecutionProvider",
        "provider_options": {},
        "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
        "measure": {
            "warmup": 3,
            "warmup_s": 0.1,
            "min_iterations": 20,
            "min_seconds": min_seconds,
            "max_seconds": min_seconds + 3.0,
        },
        "probes": plan.specs,
        "idle_s": plan.idle_s,
        "snapshots": plan.snapshots,
        "save_outputs": False,
        "out_dir": out_dir,
    }
