"""LiteRT (TensorFlow Lite): onnx2tf -> SavedModel -> ``.tflite``; the runtime is ai-edge-litert.

The converter is heavy (tensorflow-cpu, 1.5 GB): ``pip install 'harness[litert]'``. onnx2tf
writes NHWC models: the adapter feeds NHWC and maps outputs back to the ONNX layout.
onnx2tf fetches a calibration file from the internet for 4-D 3-channel inputs: a local one is
placed in its working folder first.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, Runtime, TensorMap, dist_version
from harness.runtimes.tools import package_dir, run_tool

CALIBRATION_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
_TO_NHWC = (0, 2, 3, 1)


class LiteRT(Runtime):
    name = "litert"
    extra = "litert"
    converter_dist = "onnx2tf"
    precisions = {
        "fp32": "fp32 weights and compute (onnx2tf float32 .tflite)",
        "fp16": "fp16 weights, dequantized to fp32 at load on CPU (onnx2tf float16 .tflite)",
        "int8": "dynamic-range int8: int8 weights, activations quantized per call (TFLiteConverter Optimize.DEFAULT)",
    }
    missing_precisions = {
        "int8-static": "full-integer LiteRT needs a representative dataset in the converter (not wired)",
        "int4": "LiteRT has no int4 weights on CPU",
    }

    def option_names(self) -> list[str]:
        return ["num_threads"]

    def converter_missing(self) -> str | None:
        if package_dir("onnx2tf") is None or package_dir("tensorflow") is None:
            return (f"the LiteRT converter (onnx2tf + tensorflow-cpu) is not installed: pip install "
                    f"'harness[{self.extra}]', then scripts/install-litert-converter.sh (see README, Runtimes)")
        return None

    def _saved_model(self, model: ModelInfo, where: Path) -> Path:
        """onnx2tf's SavedModel (and its fp32/fp16 .tflite files), made once per source model and
        shared by the precisions (one onnx2tf run is 1-2 minutes)."""
        digest = hashlib.sha256(model.path.read_bytes()).hexdigest()[:16]
        work = where / f"onnx2tf-{digest}"
        if (work / "done").is_file():
            return work
        import numpy as np  # only here: the registry (imported by the CLI) stays light

        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        np.save(work / CALIBRATION_FILE, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
        source = work / "model.onnx"  # onnx2tf rewrites its input file (onnxsim): never the build's own
        shutil.copyfile(model.path, source)
        run_tool([sys.executable, "-m", "onnx2tf", "-i", str(source), "-o", str(work / "saved"), "-osd"],
                 work, "onnx2tf")
        (work / "done").write_text("ok\n")
        return work

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        if (missing := self.converter_missing()) is not None:
            raise CannotMake(missing)
        out_dir.mkdir(parents=True, exist_ok=True)
        work = self._saved_model(model, out_dir.parent)
        name = "model"
        dest = out_dir / "model.tflite"
        if precision == "int8":
            code = ("import sys, tensorflow as tf; c = tf.lite.TFLiteConverter.from_saved_model(sys.argv[1]); "
                    "c.optimizations = [tf.lite.Optimize.DEFAULT]; open(sys.argv[2], 'wb').write(c.convert())")
            run_tool([sys.executable, "-c", code, str(work / "saved"), str(dest)], work, "TFLiteConverter")
        else:
            made = work / "saved" / f"{name}_{'float16' if precision == 'fp16' else 'float32'}.tflite"
            if not made.is_file():
                raise RuntimeError(f"onnx2tf wrote no {made.name}")
            shutil.copyfile(made, dest)
        perm = {n: _TO_NHWC if len(s) == 4 else None for n, s in model.inputs.items()}
        out_perm = {n: _TO_NHWC if model.output_ranks.get(n) == 4 else None for n in model.outputs}
        io = IoMap(tuple(TensorMap(n, n, perm[n], "NHWC" if perm[n] else None) for n in model.inputs),
                   tuple(TensorMap(n, n, out_perm[n], "NHWC" if out_perm[n] else None) for n in model.outputs))
        return Conversion(
            files={"model": dest},
            converter={"name": "onnx2tf", "version": dist_version("onnx2tf"),
                       "options": {"tensorflow": dist_version("tensorflow-cpu") or dist_version("tensorflow"),
                                   "quantization": "dynamic-range" if precision == "int8" else None}},
            meaning=self.precisions[precision], io=io,
        )
