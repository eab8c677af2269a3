"""ONNX Runtime's C API from Python with ctypes, for benchmarks/test_decode_interpreter_cost.py.

A decode loop written in Python over the C API of the library the native runner links (the wheel's
``libonnxruntime.so``): the agent could run its steps that way instead of through its Python binding,
and the benchmark measures what that would buy. The OrtApi table's slots are read from the header the
native runner is built with (``struct OrtApi`` only grows at its end, so a slot never moves).
"""

from __future__ import annotations

import ctypes
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

P = ctypes.c_void_p
_ENTRY = re.compile(r"ORT_API2_STATUS\(\s*(\w+)|ORT_CLASS_RELEASE2?\(\s*(\w+)|ORT_API_T\([^,]+,\s*(\w+)"
                    r"|\(ORT_API_CALL\s*\*\s*(\w+)\)")
#: ONNXTensorElementDataType of the arrays a decode loop makes
_ELEMENT = {np.dtype(np.float32): 1, np.dtype(np.int64): 7}


def api_slots(header: Path) -> dict[str, int]:
    """Each OrtApi function's slot in the table, counted in ``struct OrtApi`` of onnxruntime_c_api.h."""
    text = header.read_text()
    body = text[text.index("struct OrtApi {"):]
    body = re.sub(r"//[^\n]*", "", re.sub(r"/\*.*?\*/", "", body[:body.index("\n};")], flags=re.S))
    slots: dict[str, int] = {}
    for i, m in enumerate(_ENTRY.finditer(body)):
        name = next(g for g in m.groups() if g)
        slots.setdefault("Release" + name if m.group(0).startswith("ORT_CLASS_RELEASE") else name, i)
    return slots


class CApi:
    """The few OrtApi functions a decode loop needs, as ctypes functions."""

    def __init__(self, library: Path, header: Path) -> None:
        self.library = library
        lib = ctypes.CDLL(str(library))

        class ApiBase(ctypes.Structure):
            _fields_ = [("GetApi", ctypes.CFUNCTYPE(P, ctypes.c_uint32)),
                        ("GetVersionString", ctypes.CFUNCTYPE(ctypes.c_char_p))]

        lib.OrtGetApiBase.restype = ctypes.POINTER(ApiBase)
        table = ctypes.cast(lib.OrtGetApiBase().contents.GetApi(1), ctypes.POINTER(P))
        slot = api_slots(header)

        def fn(name: str, *args: Any, res: Any = P) -> Any:
            return ctypes.CFUNCTYPE(res, *args)(table[slot[name]])

        i64p, size, c_int, pp = ctypes.POINTER(ctypes.c_int64), ctypes.c_size_t, ctypes.c_int, ctypes.POINTER(P)
        names = ctypes.POINTER(ctypes.c_char_p)
        self.GetErrorMessage = fn("GetErrorMessage", P, res=ctypes.c_char_p)
        self.ReleaseStatus = fn("ReleaseStatus", P, res=None)
        self.CreateEnv = fn("CreateEnv", c_int, ctypes.c_char_p, pp)
        self.CreateSessionOptions = fn("CreateSessionOptions", pp)
        self.SetIntraOpNumThreads = fn("SetIntraOpNumThreads", P, c_int)
        self.SetInterOpNumThreads = fn("SetInterOpNumThreads", P, c_int)
        self.SetSessionGraphOptimizationLevel = fn("SetSessionGraphOptimizationLevel", P, c_int)
        self.ReleaseSessionOptions = fn("ReleaseSessionOptions", P, res=None)
        self.CreateSession = fn("CreateSession", P, ctypes.c_char_p, P, pp)
        self.CreateCpuMemoryInfo = fn("CreateCpuMemoryInfo", c_int, c_int, pp)
        self.CreateTensorWithDataAsOrtValue = fn("CreateTensorWithDataAsOrtValue", P, P, size, i64p, size, c_int, pp)
        self.GetTensorMutableData = fn("GetTensorMutableData", P, pp)
        self.ReleaseValue = fn("ReleaseValue", P, res=None)
        self.Run = fn("Run", P, P, names, pp, size, names, size, pp)

    def check(self, status: Any) -> None:
        if status:
            message = self.GetErrorMessage(status).decode()
            self.ReleaseStatus(status)
            raise RuntimeError(message)


class CApiLoop:
    """Greedy decode steps written in Python over the C API: the feeds made before the steps, each
    step's timed call the C API's Run alone (as the native runner's and the agent's), the cache (the
    last step's outputs) passed on as pointers, the argmax on a numpy view of the logits."""

    def __init__(self, api: CApi, model: Path, threads: int, inputs: list[str], outputs: list[str],
                 past_shape: tuple[int, int], vocab: int) -> None:
        """``past_shape``: the cache's (kv heads, head size); ``vocab``: the logits' last dimension."""
        self.api, self.inputs, self.outputs, self.past_shape, self.vocab = api, inputs, outputs, past_shape, vocab
        env, so, self.session, self.cpu = P(), P(), P(), P()
        api.check(api.CreateEnv(2, b"decode-c-api", ctypes.byref(env)))
        api.check(api.CreateSessionOptions(ctypes.byref(so)))
        api.check(api.SetIntraOpNumThreads(so, threads))
        api.check(api.SetInterOpNumThreads(so, 1))
        api.check(api.SetSessionGraphOptimizationLevel(so, 99))  # ORT_ENABLE_ALL, as both runners
        api.check(api.CreateSession(env, str(model).encode(), so, ctypes.byref(self.session)))
        api.ReleaseSessionOptions(so)
        api.check(api.CreateCpuMemoryInfo(1, 0, ctypes.byref(self.cpu)))  # OrtArenaAllocator, OrtMemTypeDefault
        self.in_names = (ctypes.c_char_p * len(inputs))(*[n.encode() for n in inputs])
        self.out_names = (ctypes.c_char_p * len(outputs))(*[n.encode() for n in outputs])
        self.pasts = [(i, outputs.index("present." + n[len("past_key_values."):])) for i, n in enumerate(inputs)
                      if n.startswith("past_key_values.")]
        self.logits_at = outputs.index("logits")

    def _tensor(self, a: np.ndarray, held: list[np.ndarray]) -> int:
        """An OrtValue over ``a``'s buffer (``held`` keeps the array alive while the value is)."""
        held.append(a)
        shape, value = (ctypes.c_int64 * a.ndim)(*a.shape), P()
        self.api.check(self.api.CreateTensorWithDataAsOrtValue(self.cpu, a.ctypes.data if a.size else None, a.nbytes,
                                                               shape, a.ndim, _ELEMENT[a.dtype], ctypes.byref(value)))
        return int(value.value or 0)

    def generate(self, prompt: np.ndarray, n_tokens: int) -> tuple[list[float], np.ndarray]:
        """A prefill and ``n_tokens - 1`` decode steps: (ms per step, the greedy tokens)."""
        api, n_in, n_out = self.api, len(self.inputs), len(self.outputs)
        held: list[np.ndarray] = []
        ids = np.ascontiguousarray(prompt, dtype=np.int64).reshape(1, -1)
        p = ids.shape[1]
        ones, positions = np.ones((1, p + n_tokens), np.int64), np.arange(p + n_tokens, dtype=np.int64).reshape(1, -1)
        empty = np.zeros((1, self.past_shape[0], 0, self.past_shape[1]), np.float32)
        prefill = {"input_ids": ids, "attention_mask": ones[:, :p], "position_ids": positions[:, :p]}
        feeds = (P * n_in)(*[self._tensor(prefill.get(n, empty), held) for n in self.inputs])
        outs, spare = (P * n_out)(), (P * n_out)()
        api.check(api.Run(self.session, None, self.in_names, feeds, n_in, self.out_names, n_out, outs))
        for i in range(n_in):
            api.ReleaseValue(feeds[i])
        vocab_row, data = ctypes.c_float * self.vocab, P()
        api.check(api.GetTensorMutableData(outs[self.logits_at], ctypes.byref(data)))
        tokens = [int(np.argmax(np.frombuffer(vocab_row.from_address(data.value + 4 * self.vocab * (p - 1)),
                                              np.float32)))]
        token = np.zeros((1, 1), np.int64)
        small = [(self._tensor(ones[:, :t], held), self._tensor(positions[:, t - 1:t], held))
                 for t in range(p + 1, p + n_tokens)]
        at = {n: i for i, n in enumerate(self.inputs)}
        feeds[at["input_ids"]] = self._tensor(token, held)
        i_mask, i_pos, pasts, run, release, clock = (at["attention_mask"], at["position_ids"], self.pasts, api.Run,
                                                     api.ReleaseValue, time.perf_counter)
        step_ms = []
        try:
            for mask, pos in small:
                token[0, 0] = tokens[-1]
                feeds[i_mask], feeds[i_pos] = mask, pos
                for i, k in pasts:
                    feeds[i] = outs[k]
                t0 = clock()
                status = run(self.session, None, self.in_names, feeds, n_in, self.out_names, n_out, spare)
                step_ms.append((clock() - t0) * 1000.0)
                api.check(status)
                for k in range(n_out):
                    release(outs[k])
                ctypes.memset(outs, 0, ctypes.sizeof(outs))  # null outputs: ORT allocates them
                outs, spare = spare, outs
                api.check(api.GetTensorMutableData(outs[self.logits_at], ctypes.byref(data)))
                tokens.append(int(np.argmax(np.frombuffer(vocab_row.from_address(data.value), np.float32))))
        finally:
            for k in range(n_out):
                if outs[k]:
                    release(outs[k])
            for value in [feeds[at["input_ids"]], *(v for pair in small for v in pair)]:
                release(value)
        return step_ms, np.array(tokens, dtype=np.int64)
