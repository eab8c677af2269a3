"""A small ONNX graph builder with seeded weights: the shared layer of every built-in model.

Node and initializer names are derived from a counter and the caller's prefixes, so the
same calls with the same seed give a byte-identical ModelProto.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# 20, not 21: ORT 1.19.2 (the last wheel for Python 3.8, e.g. JetPack 5) fuses int8-static QDQ
# into QLinearMatMul(21) at opset 21 and then has no kernel for it (measured); 20 loads on both.
OPSET = 20
IR_VERSION = 10  # onnx 1.23 writes IR 14; ORT 1.31 loads at most IR 13
NEG_INF = -1.0e4  # mask fill: finite in fp16 so fully masked (padding) rows stay NaN-free


class GraphBuilder:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._n = 0
        self._consts: dict[tuple, str] = {}

    # ------------------------------------------------------------------ names and tensors
    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def init(self, name: str, array: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, values, dtype=np.int64) -> str:
        """A shared constant initializer (shapes, axes, scalars)."""
        arr = np.asarray(values, dtype=dtype)
        key = (arr.dtype.str, arr.shape, arr.tobytes())
        if key not in self._consts:
            self._consts[key] = self.init(self._name("const"), arr)
        return self._consts[key]

    def linear_weight(self, name: str, fan_in: int, fan_out: int) -> str:
        """torch.nn.Linear's default init, U(-1/sqrt(fan_in), 1/sqrt(fan_in)), stored [in, out]."""
        bound = 1.0 / np.sqrt(fan_in)
        return self.init(name, self.rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))

    def input(self, name: str, elem: int, shape: Sequence[int | str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, list(shape)))
        return name

    def output(self, name: str, elem: int, shape: Sequence[int | str]) -> None:
        self.outputs.append(helper.make_tensor_value_info(name, elem, list(shape)))

    def op(self, op_type: str, inputs: Sequence[str], out: str | None = None, n_out: int = 1, **attrs) -> str:
        outs = [out] if out else [self._name(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self._name("n_" + op_type), **attrs))
        return outs[0] if n_out == 1 else outs  # type: ignore[return-value]

    def model(self, graph_name: str, producer: str = "harness.builds") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, graph_name, self.inputs, self.outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name=producer)
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model

    # ------------------------------------------------------------------ layers
    def linear(self, x: str, name: str, fan_in: int, fan_out: int, bias: bool = False) -> str:
        y = self.op("MatMul", [x, self.linear_weight(name + ".weight", fan_in, fan_out)])
        if bias:
            bound = 1.0 / np.sqrt(fan_in)
            b = self.init(name + ".bias", self.rng.uniform(-bound, bound, (fan_out,)).astype(np.float32))
            y = self.op("Add", [y, b])
        return y

    def rms_norm(self, x: str, name: str, dim: int, eps: float = 1e-6, weight: np.ndarray | None = None) -> str:
        w = self.init(name + ".weight", np.ones(dim, np.float32) if weight is None else weight)
        sq = self.op("Mul", [x, x])
        mean = self.op("ReduceMean", [sq, self.const([-1])], keepdims=1)
        inv = self.op("Reciprocal", [self.op("Sqrt", [self.op("Add", [mean, self.const(eps, np.float32)])])])
        return self.op("Mul", [self.op("Mul", [x, inv]), w])

    def layer_norm(self, x: str, name: str, dim: int, eps: float = 1e-5) -> str:
        w = self.init(name + ".weight", np.ones(dim, np.float32))
        b = self.init(name + ".bias", np.zeros(dim, np.float32))
        return self.op("LayerNormalization", [x, w, b], axis=-1, epsilon=eps)

    def heads(self, x: str, n_heads: int, head_dim: int) -> str:
        """[B, S, n*d] -> [B, n, S, d]."""
        r = self.op("Reshape", [x, self.const([0, 0, n_heads, head_dim])])
        return self.op("Transpose", [r], perm=[0, 2, 1, 3])

    def merge_heads(self, x: str, dim: int) -> str:
        """[B, n, S, d] -> [B, S, n*d]."""
        t = self.op("Transpose", [x], perm=[0, 2, 1, 3])
        return self.op("Reshape", [t, self.const([0, 0, dim])])

    def repeat_kv(self, x: str, n_kv: int, rep: int, head_dim: int) -> str:
        """GQA: [B, kv, T, d] -> [B, kv*rep, T, d]."""
        if rep == 1:
            return x
        u = self.op("Unsqueeze", [x, self.const([2])])
        e = self.op("Expand", [u, self.const([1, 1, rep, 1, 1])])
        return self.op("Reshape", [e, self.const([0, n_kv * rep, -1, head_dim])])

    def attention(self, q: str, k: str, v: str, head_dim: int, mask: str | None) -> str:
        """softmax(q k^T / sqrt(d) masked) v; mask is bool, broadcastable to [B, n, S, T]."""
        kt = self.op("Transpose", [k], perm=[0, 1, 3, 2])
        scores = self.op("Mul", [self.op("MatMul", [q, kt]), self.const(1.0 / np.sqrt(head_dim), np.float32)])
        if mask is not None:
            scores = self.op("Where", [mask, scores, self.const(NEG_INF, np.float32)])
        probs = self.op("Softmax", [scores], axis=-1)
        return self.op("MatMul", [probs, v])

    def dim(self, x: str, axis: int) -> str:
        """A dimension of x as a 1-element int64 tensor."""
        return self.op("Gather", [self.op("Shape", [x]), self.const([axis])], axis=0)

    def causal_mask(self, q_len: str, kv_len: str) -> str:
        """Bool [1, 1, S, T]: key j visible from query i iff j <= T - S + i (queries are the last S)."""
        zero, one = self.const(0), self.const(1)
        s = self.op("Squeeze", [q_len, self.const([0])])
        t = self.op("Squeeze", [kv_len, self.const([0])])
        q_idx = self.op("Range", [self.op("Sub", [t, s]), t, one])
        k_idx = self.op("Range", [zero, t, one])
        m = self.op(
            "LessOrEqual",
            [self.op("Unsqueeze", [k_idx, self.const([0])]), self.op("Unsqueeze", [q_idx, self.const([1])])],
        )
        return self.op("Unsqueeze", [m, self.const([0, 1])])

    def padding_mask(self, attention_mask: str) -> str:
        """int64 [B, T] (1 = token) -> bool [B, 1, 1, T]."""
        b = self.op("Cast", [attention_mask], to=TensorProto.BOOL)
        return self.op("Unsqueeze", [b, self.const([1, 2])])

    def sinusoid_table(self, name: str, max_pos: int, dim: int) -> str:
        pos = np.arange(max_pos, dtype=np.float64)[:, None]
        inv = 1.0 / (10000 ** (np.arange(0, dim, 2, dtype=np.float64) / dim))
        table = np.concatenate([np.sin(pos * inv), np.cos(pos * inv)], axis=1).astype(np.float32)
        return self.init(name, table)
