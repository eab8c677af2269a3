"""An llm workload's build entry: its GGUF precisions, their quality, and the fixed text's token ids.

The GGUF files are made (or reused) in the models cache (harness.builds.gguf) and hard-linked into
the build folder (copied where a link cannot be made), so a build stays self-contained without a
second copy on disk. Quality per precision (harness.builds.gguf_quality) is measured here, once per
build, on the host; the cells attach it to their results. The entry records them under both
``precisions`` (the plan's view) and ``runtimes`` (the runtime seam's view: made by the build,
never converted from ONNX). The workload's ONNX precisions (fp32/fp16/int8/int4) are the project's
decoder built from the reference GGUF (harness.builds.llm_onnx), under ``precisions`` only: ONNX
Runtime runs them as it runs any build's variants, their quality beside the GGUF types'.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from harness.builds.gguf import BUILTIN_LLMS, builtin_precisions, make_precisions, models_cache
from harness.builds.gguf_quality import QUALITY_TEXT, measure_quality, token_ids
from harness.builds.llm_onnx import onnx_precisions, onnx_quality_cached
from harness.builds.manifest import PrecisionEntry, RuntimeEntry, WorkloadEntry, artifact_for, sha256_of
from harness.builds.runner.llm import host_llm_runner
from harness.config.models import GGUF_TYPES, ONNX_PRECISIONS, Workload
from harness.errors import HarnessError
from harness.runtimes.llamacpp import LLAMACPP, LlamaCpp

#: where a built llm workload keeps the fixed text's token ids (every runtime gets these)
IDS_NAME = "quality-ids.npy"


def _link(src: Path, dst: Path) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
    return dst


def gguf_source(wl: Workload, wl_path: Path) -> Path:
    """The user's GGUF file (model.gguf, relative to the workload YAML)."""
    assert wl.model.gguf is not None
    p = Path(wl.model.gguf).expanduser()
    p = p if p.is_absolute() else Path(wl_path).parent / p
    if not p.is_file():
        raise HarnessError(f"{wl_path}: model.gguf: {p} does not exist")
    with open(p, "rb") as f:
        if f.read(4) != b"GGUF":
            raise HarnessError(f"{wl_path}: model.gguf: {p} is not a GGUF file (no GGUF magic)")
    return p


def build_llm_workload(wl: Workload, wl_path: Path, build_dir: Path, only: list[str] | None) -> WorkloadEntry:
    wanted_all = [p for p in wl.precisions if only is None or p in only]
    wanted = [p for p in wanted_all if p in GGUF_TYPES]
    onnx_wanted = [p for p in wanted_all if p in ONNX_PRECISIONS]
    runner = host_llm_runner()
    if wl.model.builtin is not None:
        if wl.model.builtin not in BUILTIN_LLMS:
            raise HarnessError(f"{wl_path}: model.builtin {wl.model.builtin!r} is no built-in LLM (known: "
                               f"{', '.join(BUILTIN_LLMS)})")
        folder, manifest = builtin_precisions(wl.model.builtin, wanted, runner=runner)
        source: dict[str, Any] = {"builtin": wl.model.builtin, "package": BUILTIN_LLMS[wl.model.builtin].package,
                                  "version": BUILTIN_LLMS[wl.model.builtin].version}
    else:
        src = gguf_source(wl, wl_path)
        digest = sha256_of(src)
        folder = models_cache() / f"{wl.name}-{digest[:12]}"
        manifest = make_precisions(wl.name, src, wanted, folder, runner, source_type="as given", license="the user's",
                                   reference_note="F16 made from the given GGUF file with llama_model_quantize: the "
                                                  "highest precision the workload gives")
        source = {"gguf": str(src), "sha256": digest}
    quality = measure_quality(folder, manifest, runner, wanted) if wanted else {}
    ids = token_ids(folder, manifest, runner)
    out = build_dir / wl.name
    ids_art = artifact_for(build_dir, _link(ids, out / IDS_NAME))
    meaning = LlamaCpp.precisions
    precs: dict[str, PrecisionEntry] = {}
    made: dict[str, RuntimeEntry] = {}
    for p in wanted:
        entry = manifest.precisions[p]
        art = artifact_for(build_dir, _link(folder / entry.file, out / p / entry.file))
        converter = {"tool": "llama_model_quantize", "llama_cpp": manifest.llama_cpp, "made_by": entry.made_by}
        notes = [f"{p}: {manifest.reference_note}"] if p == manifest.reference else []
        precs[p] = PrecisionEntry(files={"model": art}, converter=converter, notes=notes)
        made[p] = RuntimeEntry(files={"model": art}, converter={"name": "llama_model_quantize",
                                                                "version": manifest.llama_cpp, "options": {}},
                               meaning=meaning.get(p), source_precision=p, source_sha256=manifest.source.sha256)
    notes = [manifest.reference_note]
    onnx_source: dict[str, Any] | None = None
    if onnx_wanted:  # the same weights on ONNX Runtime: the decoder built from the reference GGUF
        models, onnx_source = onnx_precisions(folder, manifest, onnx_wanted, wl.model.int4_block_size)
        quality.update(onnx_quality_cached(folder, manifest, runner, models, ids))
        for op, path in models.items():
            made_by = onnx_source["files"][op]
            precs[op] = PrecisionEntry(files={"model": artifact_for(build_dir, _link(path, out / op / "model.onnx"))},
                                       converter=made_by["converter"], notes=[f"{op}: {n}" for n in made_by["notes"]])
        notes.append(f"ONNX {', '.join(onnx_wanted)}: the project's decoder built from the reference "
                     f"{manifest.reference} GGUF ({onnx_source.get('note')})")
    io = {
        "llm": {
            "reference": manifest.reference,
            "reference_note": manifest.reference_note,
            "source_type": manifest.source_type,
            "license": manifest.license,
            "quality": quality,
            "ids": ids_art.model_dump(),
            "text": QUALITY_TEXT.name,
            "text_tokens": int(np.load(ids).shape[0]),
            **({"onnx_source": {k: v for k, v in onnx_source.items() if k != "files"}} if onnx_source else {}),
        }
    }
    return WorkloadEntry(kind=wl.kind, source=source, io=io, precisions=precs, runtimes={LLAMACPP: made},
                         notes=notes)
