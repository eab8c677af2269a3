"""Fake cuda-python 12.x ``cuda.bindings.runtime`` (see ../../README.md): device memory is host bytearrays."""

import ctypes
import enum
import itertools

import numpy as np


class cudaError_t(enum.IntEnum):  # noqa: N801 - cuda-python's name
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2


class cudaMemcpyKind(enum.IntEnum):  # noqa: N801
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2


class cudaDeviceProp:  # noqa: N801
    name = b"NVIDIA Fake Orin (fake)" + b"\0" * 8


_memory = {}
_next = itertools.count(0x7F0000000000, 0x100000)
_streams = itertools.count(1)


def cudaSetDevice(dev):  # noqa: N802
    return (cudaError_t.cudaSuccess if dev == 0 else cudaError_t.cudaErrorInvalidValue,)


def cudaGetDeviceProperties(dev):  # noqa: N802
    return cudaError_t.cudaSuccess, cudaDeviceProp()


def cudaStreamCreate():  # noqa: N802
    return cudaError_t.cudaSuccess, next(_streams)


def cudaStreamSynchronize(stream):  # noqa: N802
    return (cudaError_t.cudaSuccess,)


def cudaMalloc(size):  # noqa: N802
    ptr = next(_next)
    _memory[ptr] = bytearray(size)
    return cudaError_t.cudaSuccess, ptr


def cudaFree(ptr):  # noqa: N802
    return (cudaError_t.cudaSuccess if _memory.pop(int(ptr), None) is not None else cudaError_t.cudaErrorInvalidValue,)


def cudaMemcpyAsync(dst, src, count, kind, stream):  # noqa: N802
    if kind == cudaMemcpyKind.cudaMemcpyHostToDevice:
        buf = _memory.get(int(dst))
        if buf is None or len(buf) < count:
            return (cudaError_t.cudaErrorInvalidValue,)
        ctypes.memmove((ctypes.c_char * count).from_buffer(buf), int(src), count)
    else:
        buf = _memory.get(int(src))
        if buf is None or len(buf) < count:
            return (cudaError_t.cudaErrorInvalidValue,)
        ctypes.memmove(int(dst), (ctypes.c_char * count).from_buffer(buf), count)
    return (cudaError_t.cudaSuccess,)


def _read(ptr, shape, dtype):
    """The fake engine reads a device buffer."""
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    return np.frombuffer(bytes(_memory[int(ptr)][:n]), dtype=dtype).reshape(shape)


def _write(ptr, arr):
    _memory[int(ptr)][: arr.nbytes] = arr.tobytes()
