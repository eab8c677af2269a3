"""Android NNAPI through ONNX Runtime's NnapiExecutionProvider.

NNAPI's options are flags (NNAPI_FLAG_USE_FP16, _CPU_DISABLED, ...) that ONNX Runtime's C API
takes; its Python binding creates the provider with flags 0 and ignores provider options, so
through the Python agent NNAPI runs fp32 as the driver sees fit and fp16 relaxation cannot be
asked for. ``partitioning_stop_ops`` (a session config entry) is honoured.
"""

from __future__ import annotations

from harness.runtimes.ort_ep import DYNAMIC_INT8, INT4, OrtProviderRuntime


class Nnapi(OrtProviderRuntime):
    name = "nnapi"
    #: the native runner's Android build carries ONNX Runtime with this provider (runner targets name it)
    own_modules = ("builds/runner/targets.py", "builds/runner/compile.py")
    provider = "NnapiExecutionProvider"
    precisions = {
        "fp32": ("the fp32 graph on the NNAPI driver's devices (flags 0: NNAPI may use its reference CPU "
                 "implementation); nodes NNAPI does not take run on ONNX Runtime's CPU provider"),
        "int8-static": ("the build's QDQ model (scales from the workload's calibration data): the driver runs "
                        "int8 where it has quantized kernels"),
    }
    missing_precisions = {
        "fp16": ("fp16 relaxation is NNAPI_FLAG_USE_FP16, which ONNX Runtime's Python binding cannot pass (it "
                 "creates the NNAPI provider with flags 0)"),
        "int8": DYNAMIC_INT8,
        "int4": INT4,
    }

    def option_names(self) -> list[str]:
        return ["num_threads", "disable_cpu_ep_fallback", "partitioning_stop_ops"]
