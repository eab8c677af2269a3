"""Precision converters: fp32 ModelProto -> fp16 / int8 / int8-static / int4, with ORT's own tools.

Each converter returns ``Converted(model, converter, notes)``: the converter dict (tool,
version, parameters) and notes saying what was left untouched go into the manifest.
"""

from __future__ import annotations

import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime

from harness.builds.graph import IR_VERSION

WEIGHT_OPS = ("MatMul", "Gemm", "Conv", "Gather")
STATIC_OPS = ("MatMul", "Gemm", "Conv")


@dataclass
class Converted:
    model: onnx.ModelProto
    converter: dict[str, Any]
    notes: list[str] = field(default_factory=list)


@contextmanager
def _quiet() -> Iterator[None]:
    """ORT's quantizers log advice ("consider pre-processing") and per-node INFO on the root logger."""
    loggers = [logging.getLogger(), logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def float_weight_ops(model: onnx.ModelProto) -> Counter:
    """Op types (of WEIGHT_OPS) whose weight is still a float32 initializer."""
    floats = {t.name for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT and len(t.dims) >= 2}
    left: Counter = Counter()
    for node in model.graph.node:
        if node.op_type in WEIGHT_OPS and any(i in floats for i in node.input):
            left[node.op_type] += 1
    return left


def untouched_notes(precision: str, before: onnx.ModelProto, after: onnx.ModelProto) -> list[str]:
    total = float_weight_ops(before)
    left = float_weight_ops(after)
    notes = []
    for op in WEIGHT_OPS:
        if left.get(op):
            what = "all" if left[op] == total.get(op) else f"{left[op]} of {total[op]}"
            notes.append(f"{precision}: {what} {op} weights unchanged (fp32)")
    return notes


def _finish(model: onnx.ModelProto) -> onnx.ModelProto:
    model.ir_version = min(model.ir_version, IR_VERSION) if model.ir_version else IR_VERSION
    return model


def to_fp16(model: onnx.ModelProto) -> Converted:
    from onnxruntime.transformers.float16 import convert_float_to_float16

    out = convert_float_to_float16(model, keep_io_types=True)
    converter = {
        "tool": "onnxruntime.transformers.float16.convert_float_to_float16",
        "version": onnxruntime.__version__,
        "parameters": {"keep_io_types": True},
    }
    return Converted(_finish(out), converter, ["fp16: graph inputs/outputs kept fp32 (Cast at the boundary)"])


def to_int8_dynamic(model: onnx.ModelProto) -> Converted:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="harness-q8-") as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        src.write_bytes(model.SerializeToString())
        with _quiet():
            quantize_dynamic(src, dst, weight_type=QuantType.QInt8)
        out = onnx.load(str(dst))
    converter = {
        "tool": "onnxruntime.quantization.quantize_dynamic",
        "version": onnxruntime.__version__,
        "parameters": {"weight_type": "QInt8", "activations": "uint8, per-tensor, computed at run time"},
    }
    notes = untouched_notes("int8", model, out)  # ConvInteger runs on the ORT CPU EP this project pins
    return Converted(_finish(out), converter, notes)


class _Feeds:
    """A CalibrationDataReader over a list of captured feed dicts."""

    def __init__(self, feeds: Sequence[Mapping[str, np.ndarray]]) -> None:
        self._it = iter(list(feeds))

    def get_next(self):
        return next(self._it, None)

    def rewind(self) -> None:  # the MinMax calibrater reads once; kept for the protocol
        pass


PER_CHANNEL_OPSET = 13  # DequantizeLinear's axis attribute (per-channel QDQ) appeared in opset 13


def default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def per_channel_ready(model: onnx.ModelProto) -> tuple[onnx.ModelProto, bool, list[str]]:
    """(model, per_channel, notes): an opset < 13 model is converted to opset 13 first, since
    per-channel QDQ on it writes DequantizeLinear(axis=...) that ORT refuses to load (*measured*);
    where the converter cannot, quantize per-tensor instead. The notes say which happened."""
    opset = default_opset(model)
    if opset >= PER_CHANNEL_OPSET:
        return model, True, []
    from onnx import version_converter

    try:
        converted = version_converter.convert_version(model, PER_CHANNEL_OPSET)
        so = onnxruntime.SessionOptions()
        so.log_severity_level = 3
        onnxruntime.InferenceSession(converted.SerializeToString(), so, providers=["CPUExecutionProvider"])  # loads?
    except Exception as exc:  # noqa: BLE001 - the fallback is the answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return model, False, [f"int8-static: per-tensor weights: the model is opset {opset} and converting it to "
                              f"{PER_CHANNEL_OPSET} failed ({first}); per-channel QDQ needs opset >= {PER_CHANNEL_OPSET}"]
    return converted, True, [f"int8-static: opset {opset} converted to {PER_CHANNEL_OPSET} first "
                             f"(per-channel QDQ needs DequantizeLinear's axis, opset >= {PER_CHANNEL_OPSET})"]


def to_int8_static(model: onnx.ModelProto, feeds: Sequence[Mapping[str, np.ndarray]], calibration: str = "") -> Converted:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    if not feeds:
        raise ValueError("int8-static needs calibration feeds and none were captured")
    source_opset = default_opset(model)
    model, per_channel, opset_notes = per_channel_ready(model)
    with tempfile.TemporaryDirectory(prefix="harness-qdq-") as tmp:
        src, dst = Path(tmp) / "in.onnx", Path(tmp) / "out.onnx"
        src.write_bytes(model.SerializeToString())
        with _quiet():
            quantize_static(
                src,
                dst,
                _Feeds(feeds),
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=list(STATIC_OPS),
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,  # QInt8 activations: ORT 1.31 writes QDQ it cannot load
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        out = onnx.load(str(dst))
    converter = {
        "tool": "onnxruntime.quantization.quantize_static",
        "version": onnxruntime.__version__,
        "parameters": {
            "quant_format": "QDQ",
            "op_types_to_quantize": list(STATIC_OPS),
            "per_channel": per_channel,
            "activation_type": "QUInt8",
            "weight_type": "QInt8",
            "calibrate_method": "MinMax",
            "calibration_feeds": len(feeds),
            "calibration": calibration,
            "source_opset": source_opset,
            "opset": default_opset(model),
        },
    }
    return Converted(_finish(out), converter, opset_notes + untouched_notes("int8-static", model, out))


def to_int4(model: onnx.ModelProto, block_size: int = 32) -> Converted:
    if block_size < 16 or block_size & (block_size - 1):
        raise ValueError(f"int4 block size must be a power of two >= 16, got {block_size} (model.int4_block_size)")
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    q = MatMulNBitsQuantizer(
        onnx.ModelProto.FromString(model.SerializeToString()), bits=4, block_size=block_size, is_symmetric=True, accuracy_level=4
    )
    with _quiet():
        q.process()
    out = q.model.model
    converter = {
        "tool": "onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer",
        "version": onnxruntime.__version__,
        "parameters": {"bits": 4, "block_size": block_size, "is_symmetric": True, "accuracy_level": 4},
    }
    notes = untouched_notes("int4", model, out)
    if not any(n.op_type == "MatMulNBits" for n in out.graph.node):
        notes.append("int4: no MatMul with a constant weight: the model is unchanged")
    return Converted(_finish(out), converter, notes)


def convert(
    precision: str,
    model: onnx.ModelProto,
    feeds: Iterable[Mapping[str, np.ndarray]] | None = None,
    int4_block_size: int = 32,
    calibration: str = "",
) -> Converted:
    if precision == "fp16":
        return to_fp16(model)
    if precision == "int8":
        return to_int8_dynamic(model)
    if precision == "int8-static":
        return to_int8_static(model, list(feeds or []), calibration)
    if precision == "int4":
        return to_int4(model, int4_block_size)
    raise ValueError(f"no converter for precision {precision!r}")
