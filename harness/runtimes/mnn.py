"""MNN (Alibaba): the converter function inside the wheel makes one ``.mnn`` file.

Never the ``mnnconvert``/``mnnquant`` console scripts, nor anything under ``MNN.tools``: importing
``MNN.tools`` runs ``pip install aliyun-log-python-sdk`` by itself (into whatever ``pip`` is on
PATH) and posts the machine id, arguments and model sizes to a cloud service. The wheel's
top-level extension module ``_tools`` holds the converter function; it is called in a child Python
(the converter prints and can abort; the host process stays clean), with no pip on its PATH.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.runtimes.base import CannotMake, Conversion, IoMap, ModelInfo, Runtime, dist_version
from harness.runtimes.tools import NO_PIP_ENV, module_exists, package_dir, run_tool

_CALL = "import sys, _tools; _tools.mnnconvert(['mnnconvert'] + sys.argv[1:])"
_FLAGS = {"fp32": [], "fp16": ["--fp16"], "int8": ["--weightQuantBits", "8"]}


class Mnn(Runtime):
    name = "mnn"
    extra = "runtimes"
    converter_dist = "MNN"
    precisions = {
        "fp32": "fp32 weights and compute",
        "fp16": "fp16 weights (--fp16), expanded to fp32 at load: compute stays fp32 on CPU",
        "int8": "int8 weight-only (--weightQuantBits 8), dequantized at load: compute stays fp32",
    }
    missing_precisions = {
        "int8-static": "full int8 needs mnnquant with calibration (its console script phones home; not wired)",
        "int4": "MNN int4 weights (--weightQuantBits 4) are not wired",
    }

    def option_names(self) -> list[str]:
        return ["num_threads", "precision", "backend"]

    def converter_missing(self) -> str | None:
        if package_dir("MNN") is None or not module_exists("_tools"):
            return f"MNN is not installed: pip install 'harness[{self.extra}]'"
        return None

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        if (missing := self.converter_missing()) is not None:
            raise CannotMake(missing)
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / "model.mnn"
        args = ["-f", "ONNX", "--modelFile", str(model.path), "--MNNModel", str(dest), "--bizCode", "harness",
                *_FLAGS[precision]]
        run_tool([sys.executable, "-c", _CALL, *args], out_dir, "MNN converter", env=NO_PIP_ENV)
        if not dest.is_file():
            raise RuntimeError(f"MNN converter wrote no {dest.name}")
        return Conversion(
            files={"model": dest},
            converter={"name": "MNN _tools.mnnconvert", "version": dist_version("MNN"),
                       "options": {"flags": _FLAGS[precision]}},
            meaning=self.precisions[precision], io=IoMap.identity(list(model.inputs), model.outputs),
            settings={"precision": "high"},  # MNN's CPU "normal" may use fp16/bf16 where the CPU has it
        )
