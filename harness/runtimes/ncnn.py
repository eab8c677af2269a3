"""ncnn (Tencent): pnnx converts the ONNX model to ``.ncnn.param`` + ``.ncnn.bin``.

pnnx is installed ``--no-deps`` (with deps it pulls CUDA torch) and its executable is called by
path. ncnn has no batch dimension: a batch of N is N extractions, stacked (the report says so).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, Runtime, TensorMap, dist_version
from harness.runtimes.tools import executable_in, run_tool

if TYPE_CHECKING:
    from harness.builds.runner.parts import KindParts
    from harness.builds.runner.targets import TargetSpec

NO_INT8 = ("ncnn's int8 tools (ncnn2table, ncnn2int8) ship in no wheel, sdist, Debian or npm package")


class Ncnn(Runtime):
    name = "ncnn"
    extra = "runtimes"
    converter_dist = "pnnx"
    native = True  # the native runner's ncnn kind (a static libncnn built from ncnn's sdist)
    builds_into_runner = True  # `harness runner build --runtime ncnn`
    own_modules = ("builds/runner/ncnn_parts.py",)
    precisions = {
        "fp32": "fp32 weights and compute (pnnx fp16=0; fp16 storage/arithmetic off)",
        "fp16": ("fp16 weights (pnnx fp16=1) with ncnn's fp16 storage on; on x86 fp16 is storage only (compute in "
                 "fp32), on ARMv8.2+ ncnn also computes in fp16"),
    }
    missing_precisions = {"int8": NO_INT8, "int8-static": NO_INT8, "int4": "ncnn has no int4 weights"}

    def native_version(self, requested: str | None = None) -> str:
        from harness.builds.runner.ncnn_parts import host_ncnn_version

        return requested or host_ncnn_version()

    def native_parts(self, spec: TargetSpec, version: str, cache: Path) -> KindParts:
        from harness.builds.runner.ncnn_parts import fetch_ncnn

        return fetch_ncnn(spec, version, cache)

    def option_names(self) -> list[str]:
        return ["num_threads", "use_vulkan_compute", "lightmode"]

    def converter_missing(self) -> str | None:
        if dist_version("pnnx") is None or executable_in("pnnx", "pnnx") is None:
            return (f"the ncnn converter (pnnx) is not installed: pip install 'harness[{self.extra}]' and "
                    f"pip install --no-deps pnnx")
        return None

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        exe = executable_in("pnnx", "pnnx")
        if exe is None:
            raise CannotMake(self.converter_missing() or "pnnx not found")
        if not model.inputs:
            raise CannotMake("pnnx needs the model's input shapes")
        out_dir.mkdir(parents=True, exist_ok=True)
        fp16 = 1 if precision == "fp16" else 0
        shapes = [tuple(s) for s in model.inputs.values()]
        shape_arg = ",".join("[" + ",".join(map(str, (1, *s[1:]))) + "]" for s in shapes)
        param, binf = out_dir / "model.ncnn.param", out_dir / "model.ncnn.bin"
        options = {"inputshape": shape_arg, "fp16": fp16}
        with tempfile.TemporaryDirectory(prefix="pnnx-") as tmp:
            side = Path(tmp)  # pnnx writes its own IR and Python files too: kept out of the build
            run_tool([str(exe), str(model.path), f"inputshape={shape_arg}", f"fp16={fp16}",
                      f"ncnnparam={param}", f"ncnnbin={binf}", f"pnnxparam={side / 'm.pnnx.param'}",
                      f"pnnxbin={side / 'm.pnnx.bin'}", f"pnnxpy={side / 'm_pnnx.py'}",
                      f"pnnxonnx={side / 'm.pnnx.onnx'}", f"ncnnpy={side / 'm_ncnn.py'}"], side, "pnnx")
        io = IoMap(tuple(TensorMap(n, f"in{i}", layout="batch unrolled") for i, n in enumerate(model.inputs)),
                   tuple(TensorMap(n, f"out{i}", layout="batch unrolled") for i, n in enumerate(model.outputs)))
        settings = {"use_fp16_storage": bool(fp16), "use_fp16_packed": bool(fp16), "use_fp16_arithmetic": bool(fp16)}
        return Conversion(
            files={"model": param, "weights": binf},
            converter={"name": "pnnx", "version": dist_version("pnnx"), "options": options},
            meaning=self.precisions[precision], io=io, settings=settings,
        )
