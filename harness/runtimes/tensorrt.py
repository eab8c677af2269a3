"""NVIDIA TensorRT (Jetson, or any CUDA GPU): the engine is built on the device, not here.

A TensorRT engine is specific to the GPU and the TensorRT version that built it, so the host
"conversion" only chooses what the device builds from (the build's fp32 ONNX, or its QDQ model for
int8-static) and how: the builder flags and the input shape profile, as trtexec would take them
(``--fp16``, ``--int8``, ``--noTF32``, ``--minShapes/--optShapes/--maxShapes``). The agent's adapter
builds the engine with TensorRT's Python API (or ``trtexec --saveEngine`` with ``builder: trtexec``),
caches it on the device keyed by model, flags, shapes, TensorRT version and GPU, and reports the
build time apart from the load time (``load_ms.engine_build``).

int8 is explicit quantization: TensorRT reads the Q/DQ scales of the build's int8-static model,
which the build's static quantizer computed from the workload's calibration data. Implicit int8
(a calibrator object fed on the device) is deprecated since TensorRT 10 and not wired.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, OptionValue, Runtime, dist_version

FLAGS = {"fp32": ["--noTF32"], "fp16": ["--fp16"], "int8-static": ["--int8"]}


def shape_arg(shapes: Mapping[str, Sequence[int]]) -> str:
    """trtexec's shape syntax: ``name:1x3x224x224,other:1x8``."""
    return ",".join(f"{name}:{'x'.join(str(int(d)) for d in shape)}" for name, shape in shapes.items())


def shape_profile(model: ModelInfo) -> dict[str, str]:
    """min/opt/max shapes over every feed set (opt: the first), in trtexec's syntax."""
    if not model.inputs:
        raise CannotMake("TensorRT needs the model's input shapes to build an engine profile")
    lo: dict[str, list[int]] = {}
    hi: dict[str, list[int]] = {}
    for name, first in model.inputs.items():
        lo[name], hi[name] = list(first), list(first)
        for other in model.extra_shapes.get(name, []):
            if len(other) != len(first):
                raise CannotMake(f"input {name} changes rank between feed sets ({first} vs {other})")
            lo[name] = [min(a, b) for a, b in zip(lo[name], other)]
            hi[name] = [max(a, b) for a, b in zip(hi[name], other)]
    return {"min_shapes": shape_arg(lo), "opt_shapes": shape_arg(model.inputs), "max_shapes": shape_arg(hi)}


class TensorRt(Runtime):
    name = "tensorrt"
    converter_dist = None  # nothing converted here: the device's TensorRT builds the engine
    precisions = {
        "fp32": "fp32 engine (TF32 off: TensorRT enables TF32 on Ampere+ GPUs unless told --noTF32)",
        "fp16": ("fp16 allowed (--fp16): TensorRT picks per layer and keeps a layer fp32 where it has no fp16 "
                 "kernel or fp32 is faster (TF32 on Ampere+), so an fp16 engine is mixed precision; fp32 I/O"),
        "int8-static": ("explicit int8 (--int8) from the build's QDQ model, its scales from the workload's "
                        "calibration data; layers outside Q/DQ pairs stay fp32"),
    }
    missing_precisions = {
        "int8": ("TensorRT has no dynamic quantization (activations quantized per call); int8-static builds an "
                 "int8 engine from the build's QDQ model (the workload's calibration data)"),
        "int4": "the build's int4 is ONNX Runtime's MatMulNBits contrib op, which TensorRT's ONNX parser lacks",
    }

    def option_names(self) -> list[str]:
        return ["builder", "workspace_mb", "device_id", "engine_cache", "trtexec"]

    def check_options(self, options: Mapping[str, OptionValue]) -> None:
        super().check_options(options)
        if options.get("builder", "python") not in ("python", "trtexec"):
            raise ValueError(f"runtime tensorrt: builder is 'python' or 'trtexec', not {options['builder']!r}")

    def source_precision(self, precision: str) -> str:
        return "int8-static" if precision == "int8-static" else "fp32"

    def converter_missing(self) -> str | None:
        return None  # the engine is built on the device (its --probe says whether it has TensorRT)

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        """The build's ONNX variant is the artifact; the engine build's flags and shapes are settings."""
        profile = shape_profile(model)
        settings: dict[str, OptionValue] = {"flags": " ".join(FLAGS[precision]), **profile}
        return Conversion(
            files={"model": model.path},
            converter={"name": "tensorrt engine builder (on the device)", "version": dist_version("tensorrt"),
                       "options": dict(settings)},
            meaning=self.precisions[precision],
            io=IoMap.identity(list(model.inputs), model.outputs),
            settings=settings,
        )
