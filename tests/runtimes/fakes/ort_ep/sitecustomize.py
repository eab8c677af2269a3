"""Fake ONNX Runtime build with a QNN or NNAPI provider ($FAKE_EP; see ../README.md)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import onnxruntime as _ort  # noqa: E402
from _log import log  # noqa: E402

_EP = os.environ.get("FAKE_EP", "QNNExecutionProvider")
_real_available = _ort.get_available_providers
_RealSession = _ort.InferenceSession


def get_available_providers():
    return [_EP] + list(_real_available())


class InferenceSession(_RealSession):
    def __init__(self, path, sess_options=None, providers=None, **kwargs):
        asked = [p if isinstance(p, str) else p[0] for p in providers or []]
        options = [({} if isinstance(p, str) else dict(p[1])) for p in providers or []]
        configs = {}
        if sess_options is not None:
            for key in ("session.disable_cpu_ep_fallback", "ep.nnapi.partitioning_stop_ops"):
                value = sess_options.get_session_config_entry(key) if _has(sess_options, key) else None
                if value is not None:
                    configs[key] = value
        log(call="InferenceSession", providers=asked, options=options, configs=configs,
            threads=sess_options.intra_op_num_threads if sess_options is not None else None)
        if configs.get("session.disable_cpu_ep_fallback") == "1" and "CPUExecutionProvider" in asked:
            # what ONNX Runtime itself answers (onnxruntime 1.32, InferenceSession's initialize_session)
            raise _ort.capi.onnxruntime_pybind11_state.InvalidArgument(
                "[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Conflicting session configuration: explicitly added "
                "the CPU EP to the session, but also disabled fallback to the CPU EP via session configuration options.")
        so = _ort.SessionOptions()  # the provider took every node: the fake computes them on the CPU provider
        so.intra_op_num_threads = sess_options.intra_op_num_threads if sess_options is not None else 0
        _RealSession.__init__(self, path, sess_options=so, providers=["CPUExecutionProvider"], **kwargs)
        self._asked = asked

    def get_providers(self):
        if os.environ.get("FAKE_EP_REFUSES") == "1":
            return ["CPUExecutionProvider"]
        return [p for p in self._asked if p in (_EP, "CPUExecutionProvider")]


def _has(so, key):
    try:
        so.get_session_config_entry(key)
        return True
    except Exception:  # noqa: BLE001 - ORT raises for an entry never set
        return False


_ort.get_available_providers = get_available_providers
_ort.InferenceSession = InferenceSession
