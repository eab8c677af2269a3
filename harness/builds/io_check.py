"""A user workload's inputs against its model's graph, before anything runs.

Input names, dtypes, ranks, fixed dims, dim bindings and ``from_output`` (a fed-back state)
are checked against the ONNX graph's declared inputs and outputs; each problem names the
workload YAML's ``file:line:col``. ``harness validate`` lists them; the build refuses a
workload that has any (they would otherwise fail on every device at run time).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx

from harness.builds.inputs import BATCH_DIMS, JOB_KINDS
from harness.builds.sources import unnamed_dim
from harness.config.models import InputSpec, Workload
from harness.config.yamlsource import Loc, Marks, load_with_marks, position
from harness.errors import ConfigError


@dataclass(frozen=True)
class Problem:
    where: str  # file:line:col in the workload YAML
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: np.dtype | None  # None: an element type numpy has no name for
    shape: list[int | str] | None  # None: rank not declared


def _dtype(elem_type: int) -> np.dtype | None:
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except (KeyError, TypeError, ValueError):
        return None


def _tensor(vi: onnx.ValueInfoProto) -> Tensor:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return Tensor(vi.name, _dtype(tt.elem_type), None)
    dims: list[int | str] = [
        d.dim_value if d.HasField("dim_value") else (d.dim_param or unnamed_dim(vi.name, i)) for i, d in enumerate(tt.shape.dim)
    ]
    return Tensor(vi.name, _dtype(tt.elem_type), dims)


def model_tensors(path: Path) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """(inputs, outputs) the graph declares; initializers are not inputs a caller feeds."""
    model = onnx.load(str(path), load_external_data=False)
    inits = {t.name for t in model.graph.initializer}
    inputs = {vi.name: _tensor(vi) for vi in model.graph.input if vi.name not in inits}
    return inputs, {vi.name: _tensor(vi) for vi in model.graph.output}


def _did_you_mean(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _shape_text(shape: Sequence[int | str] | None) -> str:
    return "unknown" if shape is None else "[" + ", ".join(str(d) for d in shape) + "]"


class _Checker:
    def __init__(self, wl: Workload, wl_path: Path, marks: Marks, model_path: Path) -> None:
        self.wl, self.path, self.marks, self.model = wl, wl_path, marks, model_path.name
        self.problems: list[Problem] = []

    def add(self, loc: Loc, message: str, *, key: bool = False) -> None:
        where = position(self.path, self.marks, loc, key=key)
        self.problems.append(Problem(where, f"workload {self.wl.name}: {message}"))

    def _is_batch(self, index: int, dim: int | str) -> bool:
        return isinstance(dim, str) and (dim in BATCH_DIMS or index == 0)

    def dim_binding(self, loc: Loc, what: str, index: int, dim: int | str, want: int | str) -> None:
        """One declared dim of a workload input (or, with no inputs, of the model's) vs the model's."""
        if isinstance(dim, int):
            if dim <= 0 and index != 0:
                self.add(loc, f"{what} dim {index} is {dim}: a size must be positive")
            elif isinstance(want, int) and want > 0 and dim > 0 and dim != want:
                self.add(loc, f"{what} dim {index} is {dim} but {self.model} fixes it at {want}")
            return
        if dim in self.wl.dims:
            value = self.wl.dims[dim]
            if isinstance(want, int) and want > 0 and value != want:
                self.add(("dims", dim), f"dims.{dim} is {value} but {self.model} fixes {what} dim {index} at {want}")
            return
        if self._is_batch(index, dim):
            if isinstance(want, int) and want > 0 and any(b != want for b in self.wl.batch_sizes):
                self.add(("batch_sizes",), f"{what} dim {index} ({dim!r}) follows batch_sizes "
                                           f"{self.wl.batch_sizes}, but {self.model} fixes it at {want}")
            return
        self.add(loc, f"{what} dim {index} is {dim!r}: bind it under dims (e.g. dims: {{{dim!r}: 16}}); "
                      f"dims has {sorted(self.wl.dims) or 'nothing'}")

    def spec(self, i: int, spec: InputSpec, inputs: dict[str, Tensor], outputs: dict[str, Tensor]) -> None:
        at: Loc = ("inputs", i)
        model_in = inputs.get(spec.name)
        if model_in is None:
            self.add((*at, "name"), f"input {spec.name!r} is not an input of {self.model}: "
                                    f"{_did_you_mean(spec.name, list(inputs))}its inputs are {sorted(inputs)}")
            return
        if model_in.dtype is not None and np.dtype(spec.dtype) != model_in.dtype:
            self.add((*at, "dtype"), f"input {spec.name!r} is {spec.dtype} but {self.model} takes {model_in.dtype}")
        if spec.file is not None:
            self._file(at, spec, model_in)
        elif spec.shape is not None and model_in.shape is not None:
            if len(spec.shape) != len(model_in.shape):
                self.add((*at, "shape"), f"input {spec.name!r} has rank {len(spec.shape)} {_shape_text(spec.shape)} "
                                         f"but {self.model} takes rank {len(model_in.shape)} {_shape_text(model_in.shape)}")
            else:
                for j, (dim, want) in enumerate(zip(spec.shape, model_in.shape)):
                    self.dim_binding((*at, "shape", j), f"input {spec.name!r}", j, dim, want)
        elif spec.shape is not None:
            for j, dim in enumerate(spec.shape):
                self.dim_binding((*at, "shape", j), f"input {spec.name!r}", j, dim, -1)
        if spec.from_output is not None:
            self._feedback(at, spec, model_in, outputs)

    def _file(self, at: Loc, spec: InputSpec, model_in: Tensor) -> None:
        path = (self.path.parent / str(spec.file)).resolve()
        if not path.is_file():
            self.add((*at, "file"), f"input {spec.name!r}: file {spec.file!r} not found (looked at {path})")
            return
        try:
            data = np.load(path, mmap_mode="r", allow_pickle=False)
            if isinstance(data, np.lib.npyio.NpzFile):
                with data:
                    shape = data[spec.name if spec.name in data.files else data.files[0]].shape
            else:
                shape = data.shape
        except (OSError, ValueError, IndexError) as exc:
            self.add((*at, "file"), f"input {spec.name!r}: cannot read {spec.file!r} as .npy/.npz: {exc}")
            return
        if model_in.shape is None:
            return
        if len(shape) != len(model_in.shape):
            self.add((*at, "file"), f"input {spec.name!r}: {spec.file} holds shape {list(shape)} (rank {len(shape)}) "
                                    f"but {self.model} takes rank {len(model_in.shape)} {_shape_text(model_in.shape)}")
            return
        for j, (got, want) in enumerate(zip(shape, model_in.shape)):
            if isinstance(want, int) and want > 0 and got != want:
                self.add((*at, "file"), f"input {spec.name!r}: {spec.file} dim {j} is {got} but {self.model} "
                                        f"fixes it at {want}")

    def _feedback(self, at: Loc, spec: InputSpec, model_in: Tensor, outputs: dict[str, Tensor]) -> None:
        loc = (*at, "from_output")
        if JOB_KINDS[self.wl.kind] != "single":
            self.add(loc, f"from_output feeds a state step to step in generic and image workloads, not {self.wl.kind}")
            return
        out = outputs.get(str(spec.from_output))
        if out is None:
            self.add(loc, f"input {spec.name!r}: from_output {spec.from_output!r} is not an output of {self.model}: "
                          f"{_did_you_mean(str(spec.from_output), list(outputs))}its outputs are {sorted(outputs)}")
            return
        if out.dtype is not None and model_in.dtype is not None and out.dtype != model_in.dtype:
            self.add(loc, f"input {spec.name!r} ({model_in.dtype}) cannot take output {out.name!r} ({out.dtype})")
        if out.shape is not None and model_in.shape is not None and len(out.shape) != len(model_in.shape):
            self.add(loc, f"input {spec.name!r} has rank {len(model_in.shape)} but output {out.name!r} has rank "
                          f"{len(out.shape)}")

    def missing(self, inputs: dict[str, Tensor]) -> None:
        given = {s.name for s in self.wl.inputs}
        for name, t in inputs.items():
            if name not in given:
                dtype = t.dtype if t.dtype is not None else "?"
                self.add(("inputs",), f"{self.model} input {name!r} ({dtype}, shape {_shape_text(t.shape)}) has no "
                                      f"entry under inputs", key=True)

    def graph_only(self, inputs: dict[str, Tensor]) -> None:
        """No ``inputs`` in the workload: the model's own declarations are used; check they can be."""
        for name, t in inputs.items():
            if t.shape is None:
                self.add(("model", "path"), f"{self.model} declares no shape for input {name!r}: give it a shape "
                                            f"under inputs")
                continue
            for j, dim in enumerate(t.shape):
                self.dim_binding(("dims",), f"{self.model} input {name!r}", j, dim, -1)


def check_inputs(wl: Workload, wl_path: Path) -> list[Problem]:
    """Every mismatch between a user-model workload's inputs and its graph (none for built-ins and
    for text-generation / translation, whose I/O follows Optimum's names)."""
    if wl.model.path is None or JOB_KINDS[wl.kind] != "single":
        return []
    _, marks = load_with_marks(Path(wl_path))
    model_path = (Path(wl_path).parent / wl.model.path).resolve()
    if not model_path.is_file():
        return [Problem(position(wl_path, marks, ("model", "path")),
                        f"workload {wl.name}: model.path {wl.model.path!r} not found (looked at {model_path})")]
    try:
        inputs, outputs = model_tensors(model_path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        return [Problem(position(wl_path, marks, ("model", "path")), f"{model_path}: not a loadable ONNX model: {exc}")]
    checker = _Checker(wl, Path(wl_path), marks, model_path)
    if not wl.inputs:
        checker.graph_only(inputs)
    else:
        for i, spec in enumerate(wl.inputs):
            checker.spec(i, spec, inputs, outputs)
        checker.missing(inputs)
    return checker.problems


def raise_for_problems(wl: Workload, wl_path: Path) -> None:
    problems = check_inputs(wl, wl_path)
    if problems:
        raise ConfigError("\n".join(str(p) for p in problems))

