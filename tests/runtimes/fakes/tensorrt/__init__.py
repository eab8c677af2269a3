"""Fake TensorRT 10 Python API (see ../README.md): the engine runs the ONNX model on ORT's CPU provider."""

import enum
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as _ort

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _log import log  # noqa: E402

__version__ = "10.3.0"


class Logger:
    WARNING = 2

    def __init__(self, severity=WARNING):
        self.severity = severity


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0  # deprecated and ignored in TensorRT 10


class BuilderFlag(enum.IntEnum):
    FP16 = 0
    INT8 = 1
    TF32 = 7


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0


class TensorIOMode(enum.IntEnum):
    NONE = 0
    INPUT = 1
    OUTPUT = 2


class DataType(enum.IntEnum):
    FLOAT = 0
    HALF = 1
    INT8 = 2
    INT32 = 3
    INT64 = 8


_NP = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8, DataType.INT32: np.int32,
       DataType.INT64: np.int64}


def nptype(dtype):
    return _NP[dtype]


class _Tensor:
    def __init__(self, name):
        self.name = name


class INetworkDefinition:
    def __init__(self, flags):
        self.flags = flags
        self.onnx_path = None
        self._inputs = []

    @property
    def num_inputs(self):
        return len(self._inputs)

    def get_input(self, i):
        return _Tensor(self._inputs[i])


class OnnxParser:
    def __init__(self, network, logger):
        self.network = network
        self.errors = []

    @property
    def num_errors(self):
        return len(self.errors)

    def get_error(self, i):
        return self.errors[i]

    def parse_from_file(self, path):
        try:
            graph = onnx.load(path).graph
        except Exception as exc:  # noqa: BLE001
            self.errors.append(f"ERROR: ModelImporter.cpp: failed to parse: {exc}")
            return False
        unknown = sorted({n.op_type for n in graph.node if n.domain not in ("", "ai.onnx")})
        if unknown:
            self.errors.append(f"ERROR: onnxOpImporters: No importer registered for op: {unknown[0]}")
            return False
        init = {i.name for i in graph.initializer}
        self.network.onnx_path = path
        self.network._inputs = [i.name for i in graph.input if i.name not in init]
        return True


class IOptimizationProfile:
    def __init__(self):
        self.shapes = {}

    def set_shape(self, name, lo, opt, hi):
        self.shapes[name] = [list(lo), list(opt), list(hi)]


class IBuilderConfig:
    def __init__(self):
        self.flags = {BuilderFlag.TF32}  # TensorRT enables TF32 by default
        self.pools = {}
        self.profiles = []

    def set_flag(self, flag):
        self.flags.add(flag)

    def clear_flag(self, flag):
        self.flags.discard(flag)

    def set_memory_pool_limit(self, pool, size):
        self.pools[int(pool)] = int(size)

    def add_optimization_profile(self, profile):
        self.profiles.append(profile)
        return len(self.profiles) - 1


class Builder:
    def __init__(self, logger):
        self.logger = logger

    def create_network(self, flags=0):
        return INetworkDefinition(flags)

    def create_builder_config(self):
        return IBuilderConfig()

    def create_optimization_profile(self):
        return IOptimizationProfile()

    def build_serialized_network(self, network, config):
        flags = sorted(f.name for f in config.flags)
        log(call="build_serialized_network", flags=flags, pools=config.pools,
            profiles=[p.shapes for p in config.profiles])
        if not config.profiles:
            return None  # a dynamic-shape network without a profile does not build
        plan = {"onnx": network.onnx_path, "flags": flags, "profile": config.profiles[0].shapes}
        return json.dumps(plan).encode()  # IHostMemory supports the buffer protocol: bytes(plan)


class ICudaEngine:
    def __init__(self, plan):
        self.plan = plan
        self.session = _ort.InferenceSession(plan["onnx"], providers=["CPUExecutionProvider"])
        self._in = [i.name for i in self.session.get_inputs()]
        self._out = [o.name for o in self.session.get_outputs()]

    @property
    def num_io_tensors(self):
        return len(self._in) + len(self._out)

    def get_tensor_name(self, i):
        return (self._in + self._out)[i]

    def get_tensor_mode(self, name):
        return TensorIOMode.INPUT if name in self._in else TensorIOMode.OUTPUT

    def get_tensor_dtype(self, name):
        return DataType.FLOAT

    def create_execution_context(self):
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine):
        self.engine = engine
        self.shapes = {}
        self.addresses = {}

    def set_input_shape(self, name, shape):
        lo, _, hi = self.engine.plan["profile"][name]
        if any(s < a or s > b for s, a, b in zip(shape, lo, hi)):
            return False  # TensorRT logs the error and answers False
        self.shapes[name] = tuple(shape)
        return True

    def _run(self, feeds):
        return self.engine.session.run(None, feeds)

    def get_tensor_shape(self, name):
        feeds = {n: np.zeros(s, np.float32) for n, s in self.shapes.items()}
        outs = dict(zip(self.engine._out, self._run(feeds)))
        return outs[name].shape

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream_handle):
        from cuda.bindings import runtime as cudart

        feeds = {}
        for name in self.engine._in:
            shape = self.shapes[name]
            feeds[name] = cudart._read(self.addresses[name], shape, np.float32)
        for name, value in zip(self.engine._out, self._run(feeds)):
            cudart._write(self.addresses[name], np.ascontiguousarray(value, dtype=np.float32))
        return True


class Runtime:
    def __init__(self, logger):
        self.logger = logger

    def deserialize_cuda_engine(self, data):
        try:
            plan = json.loads(bytes(data).decode())
        except ValueError:
            return None
        log(call="deserialize_cuda_engine", flags=plan["flags"])
        return ICudaEngine(plan)
