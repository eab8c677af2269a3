"""Apple Core ML (a Mac over SSH): coremltools converts, ``MLModel.predict`` runs, on macOS only.

coremltools has had no ONNX frontend since 6.0 (it converts from PyTorch and TensorFlow), and the
old ``onnx-coreml`` package (last release 2020) is unmaintained. So the host goes ONNX -> onnx2torch
-> ``torch.jit.trace`` -> ``coremltools.convert`` (an ML program, fp32 I/O), in a child Python (torch
stays out of the host process). That needs ``pip install 'harness[coreml]'`` (coremltools, onnx2torch
and torch: heavy, hence an extra); without it the cells are skipped naming it. onnx2torch imports
torchvision, whose build must match torch's. coremltools converts on Linux too; only ``predict``
needs macOS. The ``.mlpackage`` is a folder: it travels as one zip (stored, sorted, fixed
timestamps; coremltools names the package's items by random UUIDs, so two conversions differ in
bytes) that the agent unpacks before loading (``load_ms.unpack``, apart from the load itself).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, OptionValue, Runtime, dist_version
from harness.runtimes.tools import module_exists, run_tool

NEEDS = ("coremltools", "onnx2torch", "torch")
COMPUTE_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")

#: the conversion, run in a child Python with its arguments as one JSON argument
_CONVERT = """
import json, sys
a = json.loads(sys.argv[1])
import coremltools as ct, numpy as np, onnx, onnx2torch, torch
net = onnx2torch.convert(onnx.load(a["onnx"])).eval()
traced = torch.jit.trace(net, tuple(torch.zeros(s[0]) for s in a["shapes"].values()))
def tensor(name, shapes):
    shape = shapes[0] if len(shapes) == 1 else ct.EnumeratedShapes(shapes=shapes, default=shapes[0])
    return ct.TensorType(name=name, shape=shape, dtype=np.float32)  # fp32 I/O (macOS13 targets default to fp16)
ml = ct.convert(traced, inputs=[tensor(n, s) for n, s in a["shapes"].items()],
                outputs=[ct.TensorType(name=n, dtype=np.float32) for n in a["outputs"]], convert_to="mlprogram",
                compute_precision=getattr(ct.precision, a["compute_precision"]),
                minimum_deployment_target=ct.target.macOS13)
if a["weights"] == "int8":
    op = ct.optimize.coreml.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8")
    ml = ct.optimize.coreml.linear_quantize_weights(ml, config=ct.optimize.coreml.OptimizationConfig(global_config=op))
ml.save(a["mlpackage"])
"""
_PRECISION = {"fp32": ("FLOAT32", None), "fp16": ("FLOAT16", None), "int8": ("FLOAT16", "int8")}
_EPOCH = (1980, 1, 1, 0, 0, 0)


def zip_folder(folder: Path, dest: Path) -> Path:
    """One zip of a folder, its entries sorted and dated 1980: the same folder, the same bytes."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_STORED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", _EPOCH)
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    return dest


class CoreMl(Runtime):
    name = "coreml"
    extra = "coreml"
    converter_dist = "coremltools"
    precisions = {
        "fp32": "ML program with fp32 compute (compute_precision FLOAT32): the Neural Engine, fp16-only, is not used",
        "fp16": "ML program with fp16 weights and compute (compute_precision FLOAT16, Core ML's default); fp32 I/O",
        "int8": ("int8 weight-only (linear symmetric, ct.optimize.coreml.linear_quantize_weights) on the fp16 "
                 "program: weights dequantized at load or on the fly, compute stays fp16"),
    }
    missing_precisions = {
        "int8-static": "Core ML activation quantization (coremltools' calibration API) is not wired",
        "int4": "Core ML int4 (palettization / blockwise int4 weights) is not wired",
    }

    def option_names(self) -> list[str]:
        return ["compute_units"]

    def check_options(self, options: Mapping[str, OptionValue]) -> None:
        super().check_options(options)
        units = options.get("compute_units", "ALL")
        if units not in COMPUTE_UNITS:
            raise ValueError(f"runtime coreml: compute_units is one of {list(COMPUTE_UNITS)}, not {units!r}")

    def converter_missing(self) -> str | None:
        lacking = [m for m in NEEDS if not module_exists(m)]
        if lacking:
            return (f"Core ML converts from PyTorch, not ONNX (coremltools dropped its ONNX frontend in 6.0): harness "
                    f"goes ONNX -> onnx2torch -> torch -> coremltools, and this host lacks {', '.join(lacking)}: "
                    f"pip install 'harness[{self.extra}]'")
        return None

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        if (missing := self.converter_missing()) is not None:
            raise CannotMake(missing)
        if not model.inputs:
            raise CannotMake("the Core ML conversion traces the model: it needs the input shapes of a feed set")
        out_dir.mkdir(parents=True, exist_ok=True)
        compute, weights = _PRECISION[precision]
        shapes = {n: [list(s), *[list(o) for o in model.extra_shapes.get(n, []) if tuple(o) != tuple(s)]]
                  for n, s in model.inputs.items()}
        package = out_dir / "model.mlpackage"
        args = {"onnx": str(model.path), "shapes": shapes, "outputs": model.outputs, "compute_precision": compute,
                "weights": weights, "mlpackage": str(package)}
        run_tool([sys.executable, "-c", _CONVERT, json.dumps(args)], out_dir, "coremltools conversion",
                 env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if not package.is_dir():
            raise RuntimeError(f"coremltools wrote no {package.name}")
        dest = zip_folder(package, out_dir / "model.mlpackage.zip")
        shutil.rmtree(package)  # the zip is the artifact
        return Conversion(
            files={"model": dest},
            converter={"name": "onnx2torch + torch.jit.trace + coremltools.convert (mlprogram)",
                       "version": dist_version("coremltools"),
                       "options": {"compute_precision": compute, "weights": weights or "as computed",
                                   "onnx2torch": dist_version("onnx2torch"), "torch": dist_version("torch"),
                                   "minimum_deployment_target": "macOS13"}},
            meaning=self.precisions[precision],
            io=IoMap.identity(list(model.inputs), model.outputs),
        )
