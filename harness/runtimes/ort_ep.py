"""Runtimes that are an ONNX Runtime execution provider on a phone's accelerator (QNN, NNAPI).

They run the build's own ONNX variants (nothing to convert) through ONNX Runtime with that one
provider requested; what sets them apart from an ``onnxruntime`` backend with ``provider:`` is
that a device whose ONNX Runtime lacks the provider *skips* the cell (its ``--probe`` says why)
instead of running it on the CPU provider, and that each precision says what the accelerator
makes of it. ONNX Runtime's CPU provider still runs the nodes the accelerator's provider does
not take (the result's ``session`` records the session's providers).
"""

from __future__ import annotations

from pathlib import Path

from harness.runtimes.base import Conversion, IoMap, ModelInfo, OptionValue, Runtime, dist_version

DYNAMIC_INT8 = ("dynamic int8 (activations quantized per call: ConvInteger/MatMulInteger) has no accelerator "
                "kernels; int8-static runs the build's QDQ model (scales from the workload's calibration data)")
INT4 = "the build's int4 is ONNX Runtime's MatMulNBits contrib op, which no accelerator provider takes"


class OrtProviderRuntime(Runtime):
    """An ONNX Runtime execution provider as a runtime: the build's variant is the artifact."""

    #: the ONNX Runtime execution provider it requests (the probe looks for it)
    provider: str
    #: distributions of ONNX Runtime that may carry it (the converter's version is ORT's)
    converter_dist = "onnxruntime"

    def source_precision(self, precision: str) -> str:
        return "fp32" if precision in ("fp32", "fp16") else precision

    def converter_missing(self) -> str | None:
        return None  # nothing to convert: ONNX Runtime on the device reads the build's variant

    def precision_settings(self, precision: str) -> dict[str, OptionValue]:
        """The provider options a precision needs (over the backend's)."""
        return {}

    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        """Nothing to convert: the build's ONNX variant is the artifact (never copied)."""
        return Conversion(files={"model": model.path},
                          converter={"name": f"onnxruntime ({self.provider})",
                                     "version": dist_version("onnxruntime"), "options": {}},
                          meaning=self.precisions[precision],
                          io=IoMap.identity(list(model.inputs), model.outputs),
                          settings=self.precision_settings(precision))
