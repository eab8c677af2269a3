"""An llm workload's ONNX precisions: the project's decoder built from the reference GGUF, for ONNX Runtime.

The same weights on two runtimes: the reference GGUF (F16; for SmolLM2 the published Q4_1
dequantized) becomes the ONNX decoder (builds.gguf_llama: dequantized with the ``gguf`` package,
q/k rows put back), fp32; fp16 / int8 / int4 are made from it by the project's converters, so
each re-quantizes quantized weights and the manifest says so. The files are kept in the models
cache beside the GGUF types (``onnx/<precision>.onnx``), reused while the reference file, the
builder's code and onnx / onnxruntime are the same, and hard-linked into each build.

Quality is measured as the GGUF types' is (builds.gguf_quality): llama-perplexity's KL mode over
the shipped text's ids, against llama.cpp's logits of the reference GGUF, plus greedy agreement
(builds.onnx_llm_quality), cached in ``quality-onnx.json`` by each ONNX file's sha256.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime

from harness.builds import convert
from harness.builds.gguf import GgufManifest
from harness.builds.gguf_quality import GREEDY_N, GREEDY_PROMPT, N_CTX, QUALITY_TEXT, _greedy, _logits
from harness.builds.manifest import sha256_of

ONNX_DIR = "onnx"
STAMP = "onnx-source.json"
QUALITY_FILE = "quality-onnx.json"
_CODE = ("gguf_llama.py", "text_lm.py", "graph.py", "convert.py", "llm_onnx.py")


def _recipe(reference_sha256: str, int4_block: int) -> dict[str, Any]:
    here = Path(__file__).parent
    code = hashlib.sha256(b"".join((here / name).read_bytes() for name in _CODE)).hexdigest()
    return {"reference_sha256": reference_sha256, "code": code, "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__, "int4_block_size": int4_block}


def onnx_precisions(folder: Path, manifest: GgufManifest, wanted: Sequence[str], int4_block: int = 32
                    ) -> tuple[dict[str, Path], dict[str, Any]]:
    """({precision: ONNX file in the models cache}, the decoder's source description), made on first need."""
    from harness.builds.gguf_llama import build_from_gguf  # reads the gguf package only when asked

    ref = folder / manifest.precisions[manifest.reference].file
    out = folder / ONNX_DIR
    recipe = _recipe(manifest.precisions[manifest.reference].sha256, int4_block)
    stamp = out / STAMP
    known: dict[str, Any] = json.loads(stamp.read_text()) if stamp.is_file() else {}
    if known.get("recipe") != recipe:
        shutil.rmtree(out, ignore_errors=True)
        known = {"recipe": recipe, "files": {}}
    files = {p: out / f"{p}.onnx" for p in wanted}
    todo = [p for p in wanted if p not in known["files"] or not files[p].is_file()
            or files[p].stat().st_size != known["files"][p]["size"]]
    if todo:
        out.mkdir(parents=True, exist_ok=True)
        fp32, _, source = build_from_gguf(ref)
        known["source"] = source
        for p in todo:
            conv = None if p == "fp32" else convert.convert(p, fp32, None, int4_block)
            part = files[p].with_name(files[p].name + ".part")
            part.write_bytes((fp32 if conv is None else conv.model).SerializeToString())
            part.replace(files[p])
            known["files"][p] = {"size": files[p].stat().st_size, "sha256": sha256_of(files[p]),
                                 "converter": {"tool": "harness.builds.gguf_llama"} if conv is None else conv.converter,
                                 "notes": [] if conv is None else list(conv.notes)}
        stamp.write_text(json.dumps(known, indent=2) + "\n")
    return files, {**known.get("source", {}), "files": {p: known["files"][p] for p in wanted}}


def onnx_quality_cached(folder: Path, manifest: GgufManifest, runner: Sequence[str], models: dict[str, Path],
                        ids_path: Path, *, n_ctx: int = N_CTX, threads: int = 2,
                        note: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """{ONNX precision: quality vs the reference GGUF on llama.cpp}, measured once per ONNX file."""
    from harness.builds.onnx_llm_quality import onnx_quality

    path = folder / QUALITY_FILE
    known: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    ref_entry = manifest.precisions[manifest.reference]
    ids_sha = sha256_of(ids_path)
    shas = {p: sha256_of(m) for p, m in models.items()}
    todo = {p: m for p, m in models.items()
            if (known.get(p) or {}).get("sha256") != shas[p] or known[p].get("reference_sha256") != ref_entry.sha256
            or known[p].get("ids_sha256") != ids_sha or known[p].get("n_ctx") != n_ctx}
    if todo:
        ids = np.load(ids_path).astype(np.int64)
        work = Path(tempfile.mkdtemp(prefix=".quality-onnx-", dir=folder))
        try:
            np.save(work / "prompt.npy", ids[:GREEDY_PROMPT].astype(np.int32))
            ref_path = folder / ref_entry.file
            ref = _logits(runner, ref_path, ids_path, work / "ref.npy", n_ctx, threads)
            ref_greedy = _greedy(runner, ref_path, work / "prompt.npy", GREEDY_N, work / "g-ref.npy", threads)
            got = onnx_quality(todo, ids, ref, ref_greedy.astype(np.int64), n_ctx=n_ctx, greedy_prompt=GREEDY_PROMPT,
                               threads=threads, note=note)
            del ref
            for p, q in got.items():
                known[p] = {**q, "sha256": shas[p], "reference": manifest.reference,
                            "reference_sha256": ref_entry.sha256, "ids_sha256": ids_sha, "text": QUALITY_TEXT.name,
                            "text_tokens": int(len(ids))}
            path.write_text(json.dumps(known, indent=2) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {p: known[p] for p in models}
