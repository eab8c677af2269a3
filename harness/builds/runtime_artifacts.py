"""Converted artifacts for runtimes other than ONNX Runtime, made on the host into the build.

Per (workload, runtime, precision): the runtime module converts the build's ONNX variant it
starts from (fp32 usually) into ``<build>/<workload>/runtimes/<runtime>/<precision>/``, and the
manifest's ``workloads.<w>.runtimes.<runtime>.<precision>`` records the files (sha256, size), the
converter's name, version and options, and what the precision means there. Made on first need
(a run that plans such a cell) and kept: a build gains them without changing its ONNX artifacts.
A precision the runtime cannot make is recorded as ``skipped``, a converter failure as ``error``;
both are tried again next time (an extra installed since, a fixed converter).
"""

from __future__ import annotations

import fcntl
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import (
    Manifest,
    RuntimeEntry,
    artifact_for,
    load_manifest,
    sha256_of,
    verify_artifact,
    write_manifest,
)
from harness.config.models import Workload
from harness.errors import HarnessError, essential_line
from harness.runtimes.base import CannotMake, ModelInfo
from harness.runtimes.registry import ONNXRUNTIME, get_runtime

Need = tuple[str, str, str]  # (workload, runtime, precision)


@contextmanager
def _locked(build_dir: Path) -> Iterator[None]:
    with open(build_dir / ".runtimes.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def is_current(build_dir: Path, entry: RuntimeEntry | None, converter_version: str | None = None) -> bool:
    """A conversion already made, by the installed converter's version, whose files are all present
    with their recorded size."""
    if entry is None or not entry.files:
        return False
    if converter_version is not None and entry.converter.get("version") != converter_version:
        return False
    return all((build_dir / a.path).is_file() and (build_dir / a.path).stat().st_size == a.size
               for a in entry.files.values())


def model_info(manifest: Manifest, build_dir: Path, workload: Workload, workload_path: Path,
               source_precision: str) -> ModelInfo:
    import onnx
    entry = manifest.workloads[workload.name]
    pe = entry.precisions.get(source_precision)
    if pe is None or "model" not in pe.files:
        raise CannotMake(f"build {manifest.build_id} has no {source_precision} ONNX model to convert from")
    path = verify_artifact(build_dir, pe.files["model"])
    job = make_job_inputs(workload, entry, build_dir, workload_path)
    by_label: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, arr in job.arrays.items():
        label, _, name = key.rpartition("/")
        by_label.setdefault(label, {})[name] = tuple(arr.shape)
    labels = sorted(by_label)
    first = by_label[labels[0]] if labels else {}
    graph = onnx.load(str(path), load_external_data=False).graph
    init = {i.name for i in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in init]
    shapes = {n: first[n] for n in inputs if n in first}
    extra = {n: [by_label[lb][n] for lb in labels[1:] if n in by_label[lb]] for n in inputs}
    ranks = {o.name: len(o.type.tensor_type.shape.dim) for o in graph.output if o.type.tensor_type.HasField("shape")}
    return ModelInfo(path=path, inputs=shapes, outputs=[o.name for o in graph.output], extra_shapes=extra,
                     output_ranks=ranks)


def convert_one(build_dir: Path, manifest: Manifest, workload: Workload, workload_path: Path, runtime: str,
                precision: str) -> RuntimeEntry:
    rt = get_runtime(runtime)
    src = rt.source_precision(precision)
    why = rt.cannot_make(precision) or rt.cannot_run(workload.kind) or rt.converter_missing()
    if why:
        return RuntimeEntry(source_precision=src, skipped=why)
    out_dir = build_dir / workload.name / "runtimes" / runtime / precision
    shutil.rmtree(out_dir, ignore_errors=True)
    try:
        info = model_info(manifest, build_dir, workload, workload_path, src)
        made = rt.convert(info, precision, out_dir)
    except CannotMake as exc:
        return RuntimeEntry(source_precision=src, skipped=str(exc))
    except Exception as exc:  # noqa: BLE001 - a converter's failure is the cell's, recorded in the build
        return RuntimeEntry(source_precision=src, error=f"{runtime} converter failed for {precision}: "
                                                         f"{type(exc).__name__}: {essential_line(str(exc), 1500)}")
    return RuntimeEntry(
        files={role: artifact_for(build_dir, Path(f)) for role, f in made.files.items()},
        converter=made.converter, meaning=made.meaning, source_precision=src, source_sha256=sha256_of(info.path),
        io=made.io.to_json(), settings=dict(made.settings),
    )


def ensure_runtime_artifacts(build_dir: Path, needs: Iterable[Need],
                             workloads: Mapping[str, tuple[Workload, Path]]) -> Manifest:
    """Convert what ``needs`` lacks (under a lock on the build folder) and return the manifest."""
    wanted = sorted({n for n in needs if n[1] != ONNXRUNTIME})
    if not wanted:
        return load_manifest(build_dir)
    try:
        with _locked(build_dir):
            return _convert_missing(build_dir, wanted, workloads)
    except OSError as exc:
        raise HarnessError(f"build {build_dir}: cannot write runtime conversions there ({exc})") from None


def _convert_missing(build_dir: Path, wanted: list[Need], workloads: Mapping[str, tuple[Workload, Path]]) -> Manifest:
    manifest = load_manifest(build_dir)  # another run may have converted meanwhile
    changed = False
    for wl_name, runtime, precision in wanted:
        entry = manifest.workloads.get(wl_name)
        if entry is None or entry.error or wl_name not in workloads:
            continue
        if is_current(build_dir, entry.runtimes.get(runtime, {}).get(precision),
                      get_runtime(runtime).converter_version()):
            continue
        wl, wl_path = workloads[wl_name]
        entry.runtimes.setdefault(runtime, {})[precision] = convert_one(build_dir, manifest, wl, wl_path, runtime,
                                                                      precision)
        changed = True
    if changed:
        write_manifest(build_dir, manifest)
    return manifest
