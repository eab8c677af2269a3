"""Job inputs for a workload: the arrays (an npz for the agent), the job kind and its params.

Deterministic from ``workload.seed`` and identical for every precision (fidelity compares
outputs of the same inputs). Keys follow the agent protocol: "<label>/<input name>".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.builds.manifest import WorkloadEntry
from harness.config.models import InputSpec, Workload
from harness.errors import HarnessError

JOB_KINDS = {
    "text-generation": "text-generation",
    "translation": "translation",
    "image-classification": "single",
    "generic": "single",
}
BATCH_DIMS = ("batch", "batch_size", "N")
CALIBRATION_SEED_OFFSET = 1000  # calibration data differs from evaluation data


@dataclass
class JobInputs:
    kind: str  # agent job kind: single / text-generation / translation
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def make_job_inputs(workload: Workload, entry: WorkloadEntry, build_dir: Path, workload_path: Path) -> JobInputs:
    return inputs_for_seed(workload, entry, workload_path, workload.seed)


def inputs_for_seed(workload: Workload, entry: WorkloadEntry, workload_path: Path, seed: int) -> JobInputs:
    rng = np.random.default_rng([seed, 7919])
    kind = JOB_KINDS[workload.kind]
    if workload.kind == "text-generation":
        return _text(workload, entry, rng)
    if workload.kind == "translation":
        return _translation(workload, entry, rng)
    if workload.inputs:
        return JobInputs(kind, *_from_specs(workload, list(workload.inputs), Path(workload_path).parent, rng))
    if entry.io.get("inputs"):
        unknown = [i["name"] for i in entry.io["inputs"] if i.get("shape") is None]
        if unknown:
            raise HarnessError(f"workload {workload.name}: the model declares no shape for input(s) {unknown}: "
                               f"give each a shape (or a file) under 'inputs'")
        specs = [InputSpec.model_validate(i) for i in entry.io["inputs"]]
        return JobInputs(kind, *_from_specs(workload, specs, Path(workload_path).parent, rng))
    raise HarnessError(f"workload {workload.name}: no input spec and none recorded in the build (entry.io.inputs)")


def _text(workload: Workload, entry: WorkloadEntry, rng: np.random.Generator) -> JobInputs:
    grid = workload.generation
    assert grid is not None
    vocab = int(entry.io.get("vocab", 0))
    if vocab < 3:
        raise HarnessError(f"workload {workload.name}: the build records no vocab size for the text model")
    longest = rng.integers(2, vocab, size=max(grid.prompt), dtype=np.int64)
    arrays = {f"p{p}/input_ids": longest[:p].reshape(1, p).copy() for p in grid.prompt}
    cells = [{"label": f"p{p}g{g}", "prompt": f"p{p}", "generate": g} for p in grid.prompt for g in grid.generate]
    return JobInputs("text-generation", arrays, {"grid": cells})


def _translation(workload: Workload, entry: WorkloadEntry, rng: np.random.Generator) -> JobInputs:
    tp = workload.translation
    assert tp is not None
    vocab = int(entry.io.get("vocab", 0))
    eos = int(entry.io.get("eos_token_id", 1))
    arrays: dict[str, np.ndarray] = {}
    for s in tp.source_len:
        ids = rng.integers(2, vocab, size=(1, s), dtype=np.int64)
        ids[0, -1] = eos
        arrays[f"s{s}/input_ids"] = ids
        arrays[f"s{s}/attention_mask"] = np.ones((1, s), dtype=np.int64)
    params = {
        "max_new_tokens": tp.max_new_tokens,
        "decoder_start_token_id": int(entry.io.get("decoder_start_token_id", 0)),
    }
    return JobInputs("translation", arrays, params)


def _resolve_shape(workload: Workload, spec: InputSpec, batch: int | None) -> tuple[list[int], bool]:
    """Bind symbolic dims; returns (shape, uses_batch)."""
    shape, uses_batch = [], False
    for i, d in enumerate(spec.shape or []):
        if isinstance(d, int) and d > 0:
            shape.append(d)
        elif isinstance(d, str) and d in workload.dims:
            shape.append(workload.dims[d])
        elif d in BATCH_DIMS or (i == 0 and (isinstance(d, str) or d <= 0)):
            uses_batch = True
            shape.append(batch or 1)
        else:
            raise HarnessError(
                f"workload {workload.name}: input {spec.name!r} dim {i} is {d!r}: bind it under 'dims' "
                f"(dims has {sorted(workload.dims)})"
            )
    return shape, uses_batch


def _random(spec: InputSpec, shape: list[int], rng: np.random.Generator) -> np.ndarray:
    lo, hi = spec.range
    if spec.dtype == "bool":
        return rng.integers(0, 2, size=shape).astype(bool)
    if spec.dtype in ("int64", "int32", "int8", "uint8"):
        return rng.integers(int(lo), int(hi) + 1, size=shape).astype(spec.dtype)
    return rng.uniform(lo, hi, size=shape).astype(spec.dtype)


def _load_file(workload: Workload, spec: InputSpec, base: Path) -> np.ndarray:
    path = (base / spec.file).resolve() if spec.file else None
    if path is None or not path.is_file():
        raise HarnessError(f"workload {workload.name}: input {spec.name!r}: file {path} not found")
    data = np.load(path, allow_pickle=False)
    if isinstance(data, np.lib.npyio.NpzFile):
        with data:
            key = spec.name if spec.name in data.files else data.files[0]
            return np.asarray(data[key]).astype(spec.dtype)
    return np.asarray(data).astype(spec.dtype)


def _from_specs(
    workload: Workload, specs: list[InputSpec], base: Path, rng: np.random.Generator
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """One feed set per batch size when a batch dim exists ("b1", "b4"), else one set ("")."""
    batched = any(_resolve_shape(workload, s, 1)[1] for s in specs if s.file is None)
    labels = {f"b{b}": b for b in workload.batch_sizes} if batched else {"": None}
    arrays: dict[str, np.ndarray] = {}
    for label, batch in labels.items():
        for spec in specs:
            if spec.file is not None:
                arrays[f"{label}/{spec.name}"] = _load_file(workload, spec, base)
            else:
                shape, _ = _resolve_shape(workload, spec, batch)
                arrays[f"{label}/{spec.name}"] = _random(spec, shape, rng)
    params: dict[str, Any] = {"batch_sizes": {k: v for k, v in labels.items() if v is not None}}
    feedback = {spec.name: spec.from_output for spec in specs if spec.from_output}
    if feedback:
        params["feedback"] = feedback  # the runner feeds each step the previous step's output
    return arrays, params
