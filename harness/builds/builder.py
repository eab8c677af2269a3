"""`build()`: workloads -> a build folder (artifacts per precision + manifest.json).

The build id defaults to a content hash of everything that determines the bytes (workload
configs, user files, this package's builder code, onnx/onnxruntime versions), so calling
``build`` again with nothing changed reuses the folder on disk at once. Same seed ->
byte-identical artifacts. Builds share artifacts by content (``objects``): each workload's
*recipe* (its config, its files, this code, the onnx/onnxruntime versions) is recorded in the
manifest, and a build whose workload has the recipe of one already built (a ``-w`` / ``-p``
subset of it, say) links those artifacts instead of converting again; every artifact is one
copy on disk however many builds hold it. A converter failing for one precision is recorded (entry notes
and ``skipped``) and the other precisions are kept; a workload that cannot be built at all (an
unreadable or corrupt model file) is recorded with its ``error`` and the other workloads are kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx
import onnxruntime

from harness.builds import calibration, convert, io_check, objects, variant_check
from harness.builds.graph import OPSET
from harness.builds.inputs import CALIBRATION_SEED_OFFSET, inputs_for_seed
from harness.builds.manifest import (
    MANIFEST_NAME,
    Manifest,
    PrecisionEntry,
    VariantCheck,
    WorkloadEntry,
    artifact_for,
    load_manifest,
    now_iso,
    sha256_of,
    verify_artifact,
    write_manifest,
)
from harness.builds.sources import Source, load_source, model_files, user_file, user_model_files
from harness.config.ids import check_id
from harness.config.models import PRECISIONS, Workload
from harness.config.outputs import remove_within
from harness.errors import HarnessError, essential_line

BUILDER_VERSION = 1
_CODE_FILES = (
    "graph.py",
    "text_lm.py",
    "gguf_llama.py",
    "llm_onnx.py",  # an llm workload's ONNX precisions
    "image.py",
    "translation.py",
    "convert.py",
    "calibration.py",
    "inputs.py",
    "sources.py",
    "builder.py",
    "variant_check.py",
    "io_check.py",
)
CALIBRATION_TOKENS = 8
CALIBRATION_STEPS = 8  # steps recorded per feed set of a streaming (from_output) model
SEEDED_NOTE = (
    "Built-in models carry seeded random weights: they prove the pipeline and the runtime "
    "(speed, memory, output drift vs fp32), not a trained model's accuracy."
)


def code_version() -> str:
    h = hashlib.sha256(str(BUILDER_VERSION).encode())
    here = Path(__file__).parent
    for name in _CODE_FILES:
        h.update((here / name).read_bytes())
    h.update((here.parent / "agent" / "agent.py").read_bytes())  # calibration runs the agent's loops
    return h.hexdigest()


def _digest(file: Path) -> str:
    try:
        return sha256_of(file)
    except OSError as exc:  # the build of this workload fails with the reason; the hash still changes once fixed
        return f"unreadable: {exc.strerror or exc}"


def _user_files(workload: Workload, path: Path) -> dict[str, str]:
    files = {}
    if workload.model.gguf:
        from harness.builds.llm_build import gguf_source

        files["gguf"] = _digest(gguf_source(workload, path))
    if workload.model.path:
        for role, file in user_model_files(workload, path).items():
            files[role] = _digest(file)
    for p, rel in workload.model.prebuilt.items():
        for role, file in model_files(workload, path, rel, f"model.prebuilt.{p}").items():
            files[f"prebuilt.{p}.{role}"] = _digest(file)
    for spec in workload.inputs:
        if spec.file:
            files["input." + spec.name] = _digest(user_file(workload, path, spec.file, f"inputs.{spec.name}.file"))
    return files


def content_hash(workloads: Sequence[tuple[Workload, Path]], precisions: Sequence[str] | None) -> str:
    doc = {
        "code": code_version(),
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "precisions": sorted(precisions) if precisions else None,
        "workloads": [
            {"config": wl.model_dump(mode="json"), "files": _user_files(wl, path)}
            for wl, path in sorted(workloads, key=lambda x: x[0].name)
        ],
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def workload_recipe(workload: Workload, path: Path) -> str:
    """What determines one workload's artifacts at every precision: two builds with the same recipe
    for it hold the same bytes for it (the precision subset only selects among them)."""
    doc = {"code": code_version(), "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__,
           "config": workload.model_dump(mode="json"), "files": _user_files(workload, path)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _reusable(build_dir: Path) -> bool:
    """An existing complete build (every artifact present with its recorded size)."""
    if not (build_dir / MANIFEST_NAME).is_file():
        return False
    try:
        man = load_manifest(build_dir)
    except HarnessError:
        return False
    for entry in man.workloads.values():
        for prec in entry.precisions.values():
            for art in prec.files.values():
                f = build_dir / art.path
                if not f.is_file() or f.stat().st_size != art.size:
                    return False
    return True


def build(
    workloads: Sequence[tuple[Workload, Path]],
    builds_root: Path,
    build_id: str | None = None,
    precisions: Sequence[str] | None = None,
    *,
    reuse: bool = True,
) -> Path:
    """``reuse=False``: convert every workload again even where a stored build has its recipe."""
    if not workloads:
        raise HarnessError("nothing to build: no workloads selected")
    for p in precisions or ():
        if p not in PRECISIONS:
            raise HarnessError(f"unknown precision {p!r} (known: {', '.join(PRECISIONS)})")
    onnxruntime.set_default_logger_severity(3)  # converters' sessions warn about shape merges
    if build_id is not None:
        check_id(build_id, "build id")  # it names a folder under builds_root that a rebuild replaces
    digest = content_hash(workloads, precisions)
    bid = build_id or f"b-{digest[:12]}"
    final = Path(builds_root) / bid
    if build_id is None and _reusable(final):
        return final
    sweep_partials(Path(builds_root))  # staging folders of builds killed before they could clean up
    tmp = Path(builds_root) / f".{bid}.partial-{_STAGE_HOST}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        recipes = {wl.name: workload_recipe(wl, path) for wl, path in workloads}
        stored = stored_builds(Path(builds_root)) if reuse else []
        entries = {}
        for wl, path in workloads:
            reused = _reuse(Path(builds_root), stored, wl, recipes[wl.name], tmp, precisions) if reuse else None
            entries[wl.name] = reused if reused is not None else _build_or_fail(wl, path, tmp, precisions)
        manifest = Manifest(
            build_id=bid,
            created=now_iso(),
            source={
                "builder": "harness.builds",
                "builder_version": BUILDER_VERSION,
                "code_sha256": code_version(),
                "content_hash": digest,
                "onnx": onnx.__version__,
                "onnxruntime": onnxruntime.__version__,
                "seeds": {wl.name: wl.seed for wl, _ in workloads},
                "fidelity_note": SEEDED_NOTE,
                "recipes": recipes,
            },
            workloads=entries,
        )
        write_manifest(tmp, manifest)
        objects.share_build(Path(builds_root), tmp, manifest)  # one copy on disk per content
        if final.exists():
            remove_within(builds_root, final)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


FP32_REFERENCE_ONLY = "fp32: built as the fidelity reference only (not in the workload's list)"


def stored_builds(builds_root: Path) -> list[tuple[Path, Manifest]]:
    """The builds under ``builds_root`` with a readable manifest (staging folders and the object
    store left out)."""
    out = []
    for d in sorted(Path(builds_root).glob("*")) if Path(builds_root).is_dir() else []:
        if d.name.startswith(".") or not (d / MANIFEST_NAME).is_file():
            continue
        try:
            out.append((d, load_manifest(d)))
        except HarnessError:
            continue
    return out


def _donors(stored: Sequence[tuple[Path, Manifest]], name: str, recipe: str) -> list[tuple[Path, WorkloadEntry]]:
    """Stored builds whose workload ``name`` has this recipe, with its entry."""
    out = []
    for d, man in stored:
        entry = man.workloads.get(name)
        if entry is not None and entry.error is None and (man.source.get("recipes") or {}).get(name) == recipe:
            out.append((d, entry))
    return out


def _reuse(builds_root: Path, stored: Sequence[tuple[Path, Manifest]], wl: Workload, recipe: str, build_dir: Path,
           only: Sequence[str] | None) -> WorkloadEntry | None:
    """The workload's entry from a stored build with the same recipe that holds every wanted
    precision, its artifacts linked into ``build_dir`` (verified against their sha256); None:
    build it."""
    if wl.kind == "llm":  # its token ids sit outside the precisions: built again, cheaply, from the models cache
        return None
    wanted = [p for p in wl.precisions if only is None or p in only]
    for donor, entry in _donors(stored, wl.name, recipe):
        known = set(entry.precisions) | set(entry.skipped)
        if not set(wanted) <= known or "fp32" not in entry.precisions:
            continue
        keep = {"fp32", *wanted}
        precs = {p: pe for p, pe in entry.precisions.items() if p in keep}
        try:
            for pe in precs.values():
                for art in pe.files.values():
                    dest = build_dir / art.path
                    if not objects.link_from_store(builds_root, art.sha256, art.size, dest):
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(verify_artifact(donor, art), dest)
                    elif sha256_of(dest) != art.sha256:  # an object edited in place: never passed on
                        raise HarnessError(f"stored object {art.sha256} changed on disk")
        except (OSError, HarnessError):  # a donor that lost or changed a file: build instead
            shutil.rmtree(build_dir / wl.name, ignore_errors=True)
            continue
        fp32_notes = [n for n in precs["fp32"].notes if n != FP32_REFERENCE_ONLY]
        if "fp32" not in wanted:
            fp32_notes.append(FP32_REFERENCE_ONLY)
        precs["fp32"] = precs["fp32"].model_copy(update={"notes": fp32_notes})
        dropped = known - keep
        return entry.model_copy(update={
            "precisions": precs,
            "skipped": {p: r for p, r in entry.skipped.items() if p in keep},
            "errors": {p: r for p, r in entry.errors.items() if p in keep},
            "notes": [n for n in entry.notes if not any(n.startswith(f"{p}:") for p in dropped)],
        })
    return None


_STAGE_HOST = re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname())[:64] or "host"
_STAGE = re.compile(r"^\.[A-Za-z0-9_.-]+\.partial-(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)$")


def sweep_partials(builds_root: Path) -> list[Path]:
    """Remove staging folders whose build is verifiably dead: made on this host by a process that no
    longer exists (SIGKILL, a crash: 28-180 MB each). Another host's, or a live one's, are left."""
    removed: list[Path] = []
    try:
        entries = list(builds_root.iterdir())
    except OSError:
        return removed
    for path in entries:
        m = _STAGE.match(path.name)
        if m is None or m["host"] != _STAGE_HOST or not path.is_dir() or path.is_symlink():
            continue
        pid = int(m["pid"])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
            continue  # alive: a build in progress
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, another user's
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _copy_user(src: Path, dst: Path) -> Path:
    """A user's file goes in byte for byte; one with external data is inlined (a build is self-contained)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    header = onnx.load(str(src), load_external_data=False)
    if any(t.data_location == onnx.TensorProto.EXTERNAL for t in header.graph.initializer):
        return _save(onnx.load(str(src)), dst)
    shutil.copyfile(src, dst)
    return dst


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    return path


def _build_or_fail(wl: Workload, wl_path: Path, build_dir: Path, only: Sequence[str] | None) -> WorkloadEntry:
    """One workload's entry; one that cannot be built fails its own cells, not the whole build."""
    try:
        return _build_workload(wl, wl_path, build_dir, only)
    except Exception as exc:  # noqa: BLE001 - a corrupt .onnx, inputs that disagree with the graph, a converter bug
        shutil.rmtree(build_dir / wl.name, ignore_errors=True)
        what = str(exc).strip() if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {essential_line(str(exc))}"
        reason = f"workload {wl.name} could not be built: {what}"  # a HarnessError keeps its file:line:col lines
        return WorkloadEntry(kind=wl.kind, precisions={}, notes=[reason.splitlines()[0]], error=reason)


def _build_workload(wl: Workload, wl_path: Path, build_dir: Path, only: Sequence[str] | None) -> WorkloadEntry:
    if wl.kind == "llm":  # GGUF precisions made with the LLM runtime's own quantizer (builds/llm_build.py)
        from harness.builds.llm_build import build_llm_workload

        return build_llm_workload(wl, wl_path, build_dir, list(only) if only is not None else None)
    if wl.model.path:
        io_check.raise_for_problems(wl, wl_path)  # names, dtypes, ranks, dims vs the graph: file:line:col
    src = load_source(wl, wl_path)
    wanted = [p for p in wl.precisions if only is None or p in only]
    folder = build_dir / wl.name
    precs: dict[str, PrecisionEntry] = {}
    originals = user_model_files(wl, wl_path) if wl.model.path else {}
    fp32_files = {
        role: artifact_for(
            build_dir,
            _copy_user(originals[role], folder / "fp32" / f"{role}.onnx")
            if role in originals
            else _save(m, folder / "fp32" / f"{role}.onnx"),
        )
        for role, m in src.models.items()
    }
    if wl.model.path:
        fp32_conv: dict[str, Any] = {"tool": "user file (model.path)", "path": src.source.get("path")}
    else:
        fp32_conv = {"tool": f"harness.builds {wl.model.builtin}", "version": str(BUILDER_VERSION), "opset": OPSET}
    fp32_notes = [] if "fp32" in wanted else [FP32_REFERENCE_ONLY]
    precs["fp32"] = PrecisionEntry(files=fp32_files, converter=fp32_conv, notes=fp32_notes)
    entry_notes: list[str] = []
    skipped: dict[str, str] = {}
    errors: dict[str, str] = {}
    for p in wanted:
        if p == "fp32":
            continue
        try:
            precs[p] = _precision(wl, wl_path, src, p, build_dir, folder)
        except Exception as exc:  # noqa: BLE001 - one converter failing must not lose the others
            text = f"{type(exc).__name__}: {exc}"
            reason = f"{p}: conversion failed: {essential_line(text)}"
            skipped[p] = reason
            errors[p] = text  # the full text; tables show the essential line
            entry_notes.append(reason)
    entry_notes += _check_variants(wl, wl_path, src, build_dir, precs)
    return WorkloadEntry(
        kind=wl.kind,
        source=src.source,
        io=src.io,
        precisions=precs,
        notes=entry_notes,
        skipped=skipped,
        errors=errors,
    )


def _check_variants(wl: Workload, wl_path: Path, src: Source, build_dir: Path, precs: dict[str, PrecisionEntry]) -> list[str]:
    """Load and run every variant once on the CPU EP (fp32 first: the others need it as their
    reference); mark variants identical to fp32. Returns notes for the workload entry."""
    notes: list[str] = []
    try:
        feeds = variant_check.workload_feeds(wl, wl_path, src.models, src.io)
    except HarnessError:
        raise  # a config problem (an unbound dim, a missing input file): the user fixes the YAML
    except Exception as exc:  # noqa: BLE001 - fp32 does not run on these inputs: that is the finding
        fp32_check = variant_check.failed("fp32", exc)
    else:
        fp32_check = variant_check.run_variant("fp32", _paths(build_dir, precs["fp32"]), feeds)
    precs["fp32"] = precs["fp32"].model_copy(update={"check": fp32_check})
    fp32_signature = variant_check.signatures(src.models) if fp32_check.loaded else {}
    if not fp32_check.loaded:
        notes.append(f"fp32: fails on onnxruntime's CPU EP: {fp32_check.cause}; fix: {fp32_check.fix}")
    for p, pe in list(precs.items()):
        if p == "fp32":
            continue
        if not fp32_check.loaded:
            check = VariantCheck(loaded=False, cause=f"its fp32 reference fails: {fp32_check.cause}",
                                 error=fp32_check.error, fix=fp32_check.fix, onnxruntime=fp32_check.onnxruntime)
        else:
            check = variant_check.run_variant(p, _paths(build_dir, pe), feeds)
            if check.loaded:
                models = {role: onnx.load(str(path)) for role, path in _paths(build_dir, pe).items()}
                unchanged = variant_check.signatures(models) == fp32_signature
                check = check.model_copy(update={"unchanged": unchanged})
                if unchanged:
                    pe = pe.model_copy(update={"notes": [*pe.notes, f"{p}: the quantizer changed nothing: same ops "
                                                         f"and weights as fp32 (subgraphs included)"]})
            else:
                notes.append(f"{p}: fails on onnxruntime's CPU EP: {check.cause}; fix: {check.fix}")
        precs[p] = pe.model_copy(update={"check": check})
    return notes


def _paths(build_dir: Path, pe: PrecisionEntry) -> dict[str, Path]:
    return {role: build_dir / art.path for role, art in pe.files.items()}


def _precision(wl: Workload, wl_path: Path, src: Source, p: str, build_dir: Path, folder: Path) -> PrecisionEntry:
    if p in wl.model.prebuilt:
        rel = wl.model.prebuilt[p]
        given = model_files(wl, wl_path, rel, f"model.prebuilt.{p}")
        return PrecisionEntry(
            files={role: artifact_for(build_dir, _copy_user(path, folder / p / f"{role}.onnx")) for role, path in given.items()},
            converter={"tool": "prebuilt", "path": str((Path(wl_path).parent / rel).resolve())},
            notes=[f"{p}: pre-built by the user's CI"],
        )
    feeds = _calibration_feeds(wl, wl_path, src) if p == "int8-static" else {}
    files, converter = {}, {}
    notes: dict[str, list[str]] = {}  # note -> roles it applies to
    for role, model in src.models.items():
        desc = f"{len(feeds.get(role, []))} fp32 feeds (seed {wl.seed + CALIBRATION_SEED_OFFSET})"
        conv = convert.convert(p, model, feeds.get(role), wl.model.int4_block_size, calibration=desc)
        files[role] = artifact_for(build_dir, _save(conv.model, folder / p / f"{role}.onnx"))
        converter = conv.converter
        for n in conv.notes:
            notes.setdefault(n, []).append(role)
    merged = [n if len(src.models) == 1 else f"{n} [{', '.join(roles)}]" for n, roles in notes.items()]
    return PrecisionEntry(files=files, converter=converter, notes=merged)


def _calibration_feeds(wl: Workload, wl_path: Path, src: Source) -> dict[str, list[dict[str, Any]]]:
    """Feeds captured from fp32 runs on calibration inputs (a different seed than evaluation)."""
    entry = WorkloadEntry(kind=wl.kind, io=src.io, precisions={})
    ji = inputs_for_seed(wl, entry, wl_path, wl.seed + CALIBRATION_SEED_OFFSET)
    if ji.kind == "text-generation":
        return {"model": calibration.lm_feeds(src.models["model"], ji.arrays, CALIBRATION_TOKENS)}
    if ji.kind == "translation":
        start = int(ji.params.get("decoder_start_token_id", 0))
        return calibration.translation_feeds(src.models, ji.arrays, CALIBRATION_TOKENS, start)
    return {"model": calibration.single_feeds(src.models["model"], ji.arrays, ji.params.get("feedback"),
                                              CALIBRATION_STEPS)}
