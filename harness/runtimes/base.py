"""The interface every runtime module implements (host side: convert, precisions, options, probe).

The device side is the runtime's adapter in the agent (``harness/agent/agent.py``, section
"runtimes"), which the agent picks by the job's ``runtime.name``. What crosses from here to
there is plain data: the artifact files, the runtime's options and an :class:`IoMap` (the
artifact's tensor names and layouts against the ONNX model's), so outputs are compared with the
ONNX Runtime fp32 reference under the ONNX names and layouts.
"""

from __future__ import annotations

import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.builds.runner.parts import KindParts
    from harness.builds.runner.targets import TargetSpec

OptionValue = str | int | float | bool
#: workload kinds whose cells run one model per call (the agent's "single" job kind)
SINGLE_MODEL_KINDS = frozenset({"image-classification", "generic"})


class CannotMake(Exception):
    """A precision (or model) the runtime cannot make here: the cell is ``skipped`` with this reason."""


@dataclass(frozen=True)
class TensorMap:
    """One tensor of the ONNX model as the artifact names and lays it out.

    ``perm`` is the transpose taking the ONNX layout to the artifact's (None: the same layout):
    the agent applies it to inputs before the timed calls, and its inverse to outputs."""

    onnx: str
    artifact: str
    perm: tuple[int, ...] | None = None
    layout: str | None = None  # e.g. "NHWC": said in the report when the layout was mapped back

    def to_json(self) -> dict[str, Any]:
        return {"onnx": self.onnx, "artifact": self.artifact, "perm": list(self.perm) if self.perm else None,
                "layout": self.layout}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> TensorMap:
        perm = d.get("perm")
        return cls(str(d["onnx"]), str(d["artifact"]), tuple(int(p) for p in perm) if perm else None, d.get("layout"))


@dataclass(frozen=True)
class IoMap:
    inputs: tuple[TensorMap, ...] = ()
    outputs: tuple[TensorMap, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"inputs": [t.to_json() for t in self.inputs], "outputs": [t.to_json() for t in self.outputs]}

    @classmethod
    def from_json(cls, d: Mapping[str, Any] | None) -> IoMap:
        d = d or {}
        return cls(tuple(TensorMap.from_json(t) for t in d.get("inputs", [])),
                   tuple(TensorMap.from_json(t) for t in d.get("outputs", [])))

    @classmethod
    def identity(cls, inputs: Sequence[str], outputs: Sequence[str]) -> IoMap:
        return cls(tuple(TensorMap(n, n) for n in inputs), tuple(TensorMap(n, n) for n in outputs))

    @property
    def mapped_layouts(self) -> list[str]:
        """Human lines for the tensors whose layout was mapped back (e.g. "logits: NHWC -> NCHW")."""
        return [f"{t.onnx}: {t.layout}" for t in (*self.inputs, *self.outputs) if t.perm]


@dataclass(frozen=True)
class Conversion:
    """What a runtime made from an ONNX model for one precision."""

    files: dict[str, Path]  # role -> file (in the out_dir given); "model" plus runtime-specific roles
    converter: dict[str, Any]  # {"name", "version", "options"}
    meaning: str  # what this precision means in this runtime on this kind of CPU
    io: IoMap = field(default_factory=IoMap)
    #: run-time settings this precision needs (the adapter applies them over the backend's options)
    settings: Mapping[str, OptionValue] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelInfo:
    """The ONNX model a conversion starts from: its file and the shapes the job feeds it."""

    path: Path
    inputs: dict[str, tuple[int, ...]]  # input name -> the shape of the first feed set
    outputs: list[str]  # output names, in order
    extra_shapes: dict[str, list[tuple[int, ...]]] = field(default_factory=dict)  # other feed sets' shapes
    output_ranks: dict[str, int] = field(default_factory=dict)  # output name -> rank, where the model says


def dist_version(dist: str) -> str | None:
    """An installed distribution's version, or None."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


class Runtime(ABC):
    """One runtime. Subclasses are stateless; the registry holds one instance of each."""

    #: the name a backend gives in its ``runtime:`` field and the job's ``runtime.name``
    name: str
    #: the pip extra that installs its converter (named in skip reasons), None: always installed
    extra: str | None = None
    #: precision -> what it means in this runtime (the precisions it can make; others are skipped)
    precisions: Mapping[str, str]
    #: why each precision it cannot make is missing (shown as the skip reason)
    missing_precisions: Mapping[str, str] = {}
    #: workload kinds it runs
    workload_kinds: frozenset[str] = SINGLE_MODEL_KINDS
    #: the native runner kinds that run it (the Python agent runs every runtime)
    native: bool = False
    #: False: no adapter in the agent; its cells run on a runner of its own (llama.cpp: runner/llm/)
    agent_adapter: bool = True
    #: modules under harness/ that belong to this runtime besides its own (its runner's build, its
    #: model format's builder): they may name it; tests/runtimes/test_seam.py holds every other module to the rule
    own_modules: tuple[str, ...] = ()
    #: the ONNX Runtime native runner can be built with a kind of this runtime (``harness runner build
    #: --runtime NAME``): its library ships headers; ``native_version`` and ``native_parts`` are its hook
    builds_into_runner: bool = False

    def native_version(self, requested: str | None = None) -> str:
        """The version the native runner's kind of this runtime is built at (default: the host's)."""
        raise NotImplementedError(f"{self.name} has no native runner kind")

    def native_parts(self, spec: TargetSpec, version: str, cache: Path) -> KindParts:
        """Headers, libraries and CMake options for the native runner's kind of this runtime on ``spec``."""
        raise NotImplementedError(f"{self.name} has no native runner kind")

    def cannot_make(self, precision: str) -> str | None:
        """Why this runtime has no ``precision`` (a skip reason), or None."""
        if precision in self.precisions:
            return None
        why = self.missing_precisions.get(precision)
        can = ", ".join(self.precisions)
        return f"{self.name} cannot make {precision}" + (f": {why}" if why else "") + f" (it makes {can})"

    def cannot_run(self, workload_kind: str) -> str | None:
        if workload_kind in self.workload_kinds:
            return None
        return (f"{self.name} runs {', '.join(sorted(self.workload_kinds))} workloads here, not {workload_kind} "
                f"(its adapter calls one model per inference)")

    def check_options(self, options: Mapping[str, OptionValue]) -> None:
        """Raise ValueError naming an option the runtime does not take (the profile's error)."""
        known = self.option_names()
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise ValueError(f"runtime {self.name} takes options {sorted(known) or '(none)'}, not {unknown}")

    def option_names(self) -> Sequence[str]:
        return ()

    def source_precision(self, precision: str) -> str:
        """The ONNX variant of the build the conversion starts from (the runtime's own quantizer
        makes lower precisions from fp32)."""
        return "fp32"

    #: the distribution whose version is the converter's (a newer converter converts again)
    converter_dist: str | None = None

    def converter_version(self) -> str | None:
        return dist_version(self.converter_dist) if self.converter_dist else None

    @abstractmethod
    def converter_missing(self) -> str | None:
        """Why the host cannot convert for this runtime (a skip reason naming the extra), or None."""

    @abstractmethod
    def convert(self, model: ModelInfo, precision: str, out_dir: Path) -> Conversion:
        """Make the artifacts for ``precision`` in ``out_dir`` (raise :class:`CannotMake` for a
        precision or model it cannot make; any other exception is a converter failure)."""
