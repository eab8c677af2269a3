"""QNN (Qualcomm AI Engine Direct) through ONNX Runtime's QNNExecutionProvider.

``backend_path`` picks QNN's backend library: ``libQnnHtp.so`` (the Hexagon NPU, the default
here), ``libQnnGpu.so`` or ``libQnnCpu.so``. The HTP computes in int8/int16 on a quantized (QDQ)
model and in fp16 otherwise: it has no fp32 arithmetic, so "fp32" on the HTP is the fp32 graph run
in fp16 (``enable_htp_fp16_precision``), and only the CPU backend computes fp32.
"""

from __future__ import annotations

from harness.runtimes.base import OptionValue
from harness.runtimes.ort_ep import DYNAMIC_INT8, INT4, OrtProviderRuntime

#: QNNExecutionProvider's provider options a backend may set (ONNX Runtime's QNN EP documentation)
QNN_OPTIONS = ("backend_path", "htp_performance_mode", "htp_graph_finalization_optimization_mode", "soc_model",
               "htp_arch", "device_id", "vtcm_mb", "enable_htp_fp16_precision", "profiling_level",
               "qnn_context_priority", "offload_graph_io_quantization")


class Qnn(OrtProviderRuntime):
    name = "qnn"
    #: the native runner's Android build carries ONNX Runtime with this provider (runner targets name it)
    own_modules = ("builds/runner/targets.py", "builds/runner/compile.py")
    provider = "QNNExecutionProvider"
    precisions = {
        "fp32": ("the fp32 graph; on the HTP (default backend_path libQnnHtp.so) computed in fp16 "
                 "(enable_htp_fp16_precision=1: the HTP has no fp32 arithmetic); fp32 compute only with "
                 "backend_path libQnnCpu.so"),
        "fp16": "the fp32 graph computed in fp16 on the HTP (enable_htp_fp16_precision=1); fp32 I/O",
        "int8-static": ("the build's QDQ model (scales from the workload's calibration data): int8 weights and "
                        "activations on the HTP; nodes QNN does not take run on ONNX Runtime's CPU provider"),
    }
    missing_precisions = {"int8": DYNAMIC_INT8, "int4": INT4}

    def option_names(self) -> list[str]:
        return ["num_threads", "disable_cpu_ep_fallback", *QNN_OPTIONS]

    def precision_settings(self, precision: str) -> dict[str, OptionValue]:
        return {"enable_htp_fp16_precision": "1"} if precision in ("fp32", "fp16") else {}
