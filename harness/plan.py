"""The cell matrix: devices x workloads x precisions x backends (each backend names its runtime),
with skip reasons.

A cell the device cannot run is kept with status ``skipped`` and the reason; it is never
silently dropped. Filters are glob patterns (fnmatch), several allowed per axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from fnmatch import fnmatchcase

from harness.builds.manifest import Manifest
from harness.config.models import PRECISIONS, Backend, DeviceProfile, NativeRunner, Workload
from harness.config.precisions import GGUF_TYPES
from harness.runtimes.llamacpp import LLAMACPP
from harness.runtimes.registry import ONNXRUNTIME, get_runtime


@dataclass(frozen=True)
class Cell:
    device: str
    workload: str
    precision: str
    backend: str
    status: str = "planned"  # planned / skipped / failed (its workload could not be built)
    reason: str | None = None
    runtime: str = ONNXRUNTIME  # the backend's runtime (plans stored before it existed read the default)

    @property
    def key(self) -> str:
        return cell_key(self.device, self.workload, self.precision, self.backend)

    def to_dict(self) -> dict[str, str | None]:
        return {**asdict(self), "key": self.key}

    @classmethod
    def from_dict(cls, d: dict[str, str | None]) -> Cell:
        return cls(**{k: v for k, v in d.items() if k != "key"})  # type: ignore[arg-type]


def cell_key(device: str, workload: str, precision: str, backend: str) -> str:
    return f"{device}/{workload}/{precision}/{backend}"


@dataclass(frozen=True)
class Filters:
    device: Sequence[str] = ()
    workload: Sequence[str] = ()
    precision: Sequence[str] = ()
    backend: Sequence[str] = ()
    runtime: Sequence[str] = ()


def matches(value: str, patterns: Sequence[str]) -> bool:
    return not patterns or any(fnmatchcase(value, p) for p in patterns)


def unknown_names(filters: Filters, devices: Sequence[DeviceProfile], workloads: Sequence[Workload]) -> list[str]:
    """A precision or backend pattern that matches nothing the chosen devices and workloads have, named
    with the known ones ("fp8 is not a precision (known: fp32, …)"): said before a build, never as an
    empty plan. Device and workload patterns are checked where they are chosen."""
    problems = []
    offered = [p for p in PRECISIONS if any(p in w.precisions for w in workloads)]
    for pat in filters.precision:
        if not any(fnmatchcase(p, pat) for p in PRECISIONS):
            problems.append(f"-p {pat}: {pat} is not a precision (known: {', '.join(PRECISIONS)})")
        elif not any(fnmatchcase(p, pat) for p in offered):
            problems.append(f"-p {pat}: no chosen workload ({', '.join(w.name for w in workloads)}) lists it "
                            f"(they list: {', '.join(offered) or 'none'})")
    backends = sorted({b.name for d in devices for b in d.backends})
    for pat in filters.backend:
        if not any(fnmatchcase(b, pat) for b in backends):
            problems.append(f"-b {pat}: {pat} is not a backend of the chosen device(s) "
                            f"{', '.join(d.name for d in devices)} (known: {', '.join(backends) or 'none'})")
    return problems


def select_devices(profiles: Sequence[DeviceProfile], patterns: Sequence[str]) -> list[DeviceProfile]:
    """Examples run only when asked for by name or pattern; with no pattern, real profiles run."""
    if patterns:
        return [p for p in profiles if matches(p.name, patterns)]
    return [p for p in profiles if not p.example]


def _skip_reason(
    device: DeviceProfile, workload: Workload, precision: str, backend: Backend, manifest: Manifest | None,
) -> str | None:
    if precision not in device.precisions:
        reason = f"device {device.name} does not run {precision} (profile precisions: {', '.join(device.precisions)})"
        if precision in GGUF_TYPES and not any(b.runtime == LLAMACPP for b in device.backends):
            reason += f"; a GGUF type runs on a backend with runtime: {LLAMACPP}, as the local-llm profile's"
        return reason
    if backend.precisions is not None and precision not in backend.precisions:
        return f"backend does not support {precision} (supports {', '.join(backend.precisions)})"
    if backend.runtime != ONNXRUNTIME:
        return _runtime_skip(device, workload, precision, backend.runtime, manifest)
    if why := get_runtime(ONNXRUNTIME).cannot_run(workload.kind) or _llm_on_ort_skip(device, workload, precision):
        return why
    if manifest is not None:
        entry = manifest.workloads.get(workload.name)
        if entry is None:
            return f"build {manifest.build_id} has no workload {workload.name}"
        if entry.error:
            return None  # not a skip: the workload's cells fail with the build's reason
        if precision not in entry.precisions:
            notes = "; ".join(n for n in _notes_for(manifest, workload.name, precision))
            return f"build {manifest.build_id} has no {precision} artifact" + (f": {notes}" if notes else "")
        check = entry.precisions[precision].check
        if check is not None and not check.loaded:
            return (f"build {manifest.build_id}: the {precision} variant failed its build check (onnxruntime "
                    f"{check.onnxruntime or '?'}, CPU EP): {check.cause}; fix: {check.fix}")
    return None


def _llm_on_ort_skip(device: DeviceProfile, workload: Workload, precision: str) -> str | None:
    """An llm workload on ONNX Runtime: its ONNX precisions only (llama-bench's tests are the job kind
    ``llm`` of the profile's runner, the native runner's or the agent's)."""
    if workload.kind != "llm":
        return None
    return get_runtime(ONNXRUNTIME).cannot_make(precision)


def llm_backends(workload: Workload, precision: str, backends: Sequence[Backend]) -> list[Backend]:
    """The backends an llm workload's precision has cells on: those whose runtime makes it (GGUF types on
    llama.cpp, ONNX precisions on ONNX Runtime) — one precision axis per runtime, not their product.
    A device with no such backend keeps every one, each cell skipped with its reason (never dropped)."""
    if workload.kind != "llm":
        return list(backends)
    fits = [b for b in backends if get_runtime(b.runtime).cannot_make(precision) is None]
    return fits or list(backends)


def _runtime_skip(device: DeviceProfile, workload: Workload, precision: str, runtime: str,
                  manifest: Manifest | None) -> str | None:
    """Why a cell of a runtime other than ONNX Runtime cannot run: the runtime cannot make the
    precision or run the workload, the device's runner lacks it, or the build's conversion said so."""
    rt = get_runtime(runtime)
    why = rt.cannot_make(precision) or rt.cannot_run(workload.kind)
    if why:
        return why
    if isinstance(device.runner, NativeRunner) and not rt.native:
        return f"the native runner has no {runtime} kind: {runtime} runs through the Python agent (runner: kind: python)"
    if manifest is not None:
        entry = manifest.workloads.get(workload.name)
        if entry is None:
            return f"build {manifest.build_id} has no workload {workload.name}"
        if entry.error:
            return None
        src = rt.source_precision(precision)
        if src not in entry.precisions:
            return f"build {manifest.build_id} has no {src} ONNX model for {runtime} to convert from"
        made = entry.runtimes.get(runtime, {}).get(precision)
        if made is not None and made.skipped:
            return made.skipped
    return None


def _runtime_error(manifest: Manifest | None, workload: str, runtime: str, precision: str) -> str | None:
    entry = manifest.workloads.get(workload) if manifest is not None else None
    made = entry.runtimes.get(runtime, {}).get(precision) if entry is not None else None
    return made.error if made is not None else None


def _build_error(manifest: Manifest | None, workload: str) -> str | None:
    entry = manifest.workloads.get(workload) if manifest is not None else None
    return entry.error if entry is not None else None


def _notes_for(manifest: Manifest, workload: str, precision: str) -> list[str]:
    entry = manifest.workloads.get(workload)
    if entry is None:
        return []
    if precision in entry.skipped:  # the builder's own reason (e.g. a converter that failed)
        return [entry.skipped[precision]]
    notes: list[str] = []
    for pe in entry.precisions.values():
        notes += [n for n in pe.notes if precision in n]
    src_notes = entry.source.get("notes", []) if isinstance(entry.source, dict) else []
    return notes + [n for n in src_notes if precision in str(n)]


def make_plan(
    devices: Sequence[DeviceProfile],
    workloads: Sequence[Workload],
    filters: Filters = Filters(),
    manifest: Manifest | None = None,
) -> list[Cell]:
    cells: list[Cell] = []
    for dev in devices:
        if not matches(dev.name, filters.device):
            continue
        for wl in workloads:
            if not matches(wl.name, filters.workload):
                continue
            for precision in wl.precisions:
                if not matches(precision, filters.precision):
                    continue
                for be in llm_backends(wl, precision, dev.backends):
                    if not matches(be.name, filters.backend) or not matches(be.runtime, filters.runtime):
                        continue
                    reason = _skip_reason(dev, wl, precision, be, manifest)
                    status = "skipped" if reason else "planned"
                    if reason is None and (error := _build_error(manifest, wl.name)
                                           or _runtime_error(manifest, wl.name, be.runtime, precision)):
                        status, reason = "failed", error  # recorded as failed, never run
                    cells.append(Cell(dev.name, wl.name, precision, be.name, status, reason, be.runtime))
    return cells


def conversions_needed(cells: Sequence[Cell]) -> list[tuple[str, str, str]]:
    """(workload, runtime, precision) of the planned cells whose runtime converts on the host."""
    return sorted({(c.workload, c.runtime, c.precision) for c in cells
                   if c.status == "planned" and c.runtime != ONNXRUNTIME})
