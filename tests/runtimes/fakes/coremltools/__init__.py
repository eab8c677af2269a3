"""Fake coremltools 9 (see ../README.md): an .mlpackage whose Data/model.onnx runs on ORT's CPU provider."""

import enum
import os
import sys
import types

import onnxruntime as _ort

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _log import log  # noqa: E402

__version__ = "9.0"


class ComputeUnit(enum.Enum):
    ALL = 1
    CPU_AND_GPU = 2
    CPU_ONLY = 3
    CPU_AND_NE = 4


class MLModel:
    def __init__(self, model, compute_units=ComputeUnit.ALL):
        if not isinstance(compute_units, ComputeUnit):
            raise TypeError("compute_units must be a coremltools.ComputeUnit")
        manifest = os.path.join(model, "Manifest.json")
        if not os.path.isfile(manifest):
            raise ValueError(f"{model} is not a valid .mlpackage (no Manifest.json)")
        log(call="MLModel", path=model, compute_units=compute_units.name)
        self.session = _ort.InferenceSession(os.path.join(model, "Data", "model.onnx"),
                                             providers=["CPUExecutionProvider"])
        self.names = [o.name for o in self.session.get_outputs()]

    def predict(self, data):
        return dict(zip(self.names, self.session.run(None, data)))


models = types.SimpleNamespace(MLModel=MLModel)
