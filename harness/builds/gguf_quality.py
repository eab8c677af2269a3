"""Quality of each GGUF precision against the reference, measured on the host once per build.

The fixed text (``llm_data/quality-text.txt``, CC0, shipped with harness) is tokenized once with the
model's own tokenizer (from the reference GGUF, through libllama); every precision — and every
other runtime (see ``token_ids``) — gets those same ids. The LLM runner writes each precision's
logits (``--logits``: float32 rows, KV cleared per chunk of ``n_ctx``); the metrics are the pure
functions of ``analysis.llm_quality``. Results go to ``quality.json`` beside the GGUF manifest,
keyed by the precisions' sha256 so a changed file is measured again.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from harness.analysis.llm_quality import (
    greedy_agreement,
    next_token_kl,
    next_token_nll,
    scored_positions,
    summarize_quality,
    top1_matches,
)
from harness.builds.gguf import GgufManifest
from harness.builds.manifest import sha256_of
from harness.builds.runner.parts import run_tool

QUALITY_TEXT = Path(__file__).with_name("llm_data") / "quality-text.txt"
QUALITY_FILE = "quality.json"
IDS_FILE = "quality-ids.npy"
N_CTX = 512
GREEDY_PROMPT = 32  # greedy continuation after the text's first 32 tokens
GREEDY_N = 32
ROWS = 128  # logits rows per step: 128 x 49152 x 8 bytes of float64 at a time


def token_ids(folder: Path, manifest: GgufManifest, runner: Sequence[str], text: Path = QUALITY_TEXT) -> Path:
    """The text's ids (int32 .npy) from the reference GGUF's tokenizer; reused while text and model are the same."""
    ids = folder / IDS_FILE
    stamp = folder / (IDS_FILE + ".source")
    key = f"{sha256_of(text)} {manifest.precisions[manifest.reference].sha256}"
    if ids.is_file() and stamp.is_file() and stamp.read_text().strip() == key:
        return ids
    ref = folder / manifest.precisions[manifest.reference].file
    run_tool([*runner, "--tokenize", str(ref), str(text), str(ids)], f"tokenizing {text.name} with {ref.name}")
    stamp.write_text(key + "\n")
    return ids


def _logits(runner: Sequence[str], model: Path, ids: Path, out: Path, n_ctx: int, threads: int) -> np.ndarray:
    run_tool([*runner, "--logits", str(model), str(ids), str(out), str(n_ctx), str(threads)],
             f"logits of {model.name}", timeout=3600)
    return np.load(out, mmap_mode="r")


def _greedy(runner: Sequence[str], model: Path, prompt: Path, n: int, out: Path, threads: int) -> np.ndarray:
    run_tool([*runner, "--greedy", str(model), str(prompt), str(n), str(out), str(threads)], f"greedy of {model.name}")
    return np.load(out)


def measure_quality(folder: Path, manifest: GgufManifest, runner: Sequence[str], types: Sequence[str] | None = None,
                    *, n_ctx: int = N_CTX, threads: int = 2) -> dict[str, dict[str, Any]]:
    """{gguf type: QualitySummary as a dict, plus method notes} for every type but the reference."""
    path = folder / QUALITY_FILE
    known: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
    ids_path = token_ids(folder, manifest, runner)
    ids = np.load(ids_path)
    types = [t for t in (types or manifest.precisions) if t != manifest.reference]
    ref_entry = manifest.precisions[manifest.reference]
    todo = [t for t in types if (known.get(t) or {}).get("sha256") != manifest.precisions[t].sha256
            or (known.get(t) or {}).get("reference_sha256") != ref_entry.sha256
            or (known.get(t) or {}).get("n_ctx") != n_ctx]
    if todo:
        work = Path(tempfile.mkdtemp(prefix=".quality-", dir=folder))
        try:
            np.save(work / "prompt.npy", ids[:GREEDY_PROMPT].astype(np.int32))
            ref = _logits(runner, folder / ref_entry.file, ids_path, work / "ref.npy", n_ctx, threads)
            ref_greedy = _greedy(runner, folder / ref_entry.file, work / "prompt.npy", GREEDY_N, work / "g-ref.npy",
                                 threads)
            rows = scored_positions(ref.shape[0], n_ctx)
            nll_ref = np.concatenate([next_token_nll(ref[rows[i:i + ROWS]], ids[rows[i:i + ROWS] + 1])
                                      for i in range(0, len(rows), ROWS)])
            for t in todo:
                entry = manifest.precisions[t]
                test = _logits(runner, folder / entry.file, ids_path, work / "test.npy", n_ctx, threads)
                kl, top1, nll = [], [], []
                for i in range(0, len(rows), ROWS):
                    r = rows[i:i + ROWS]
                    a, b = np.asarray(ref[r]), np.asarray(test[r])
                    kl.append(next_token_kl(a, b))
                    top1.append(top1_matches(a, b))
                    nll.append(next_token_nll(b, ids[r + 1]))
                del test
                (work / "test.npy").unlink()
                greedy = greedy_agreement(ref_greedy, _greedy(runner, folder / entry.file, work / "prompt.npy",
                                                              GREEDY_N, work / "g.npy", threads))
                summary = summarize_quality(np.concatenate(kl), np.concatenate(top1), np.concatenate(nll), nll_ref,
                                            greedy)
                known[t] = {**summary.as_dict(), "sha256": entry.sha256, "reference": manifest.reference,
                            "reference_sha256": ref_entry.sha256, "n_ctx": n_ctx, "text": QUALITY_TEXT.name,
                            "text_tokens": int(len(ids)), "ids_sha256": sha256_of(ids_path),
                            "method": f"llama-perplexity KL mode: chunks of {n_ctx} on an empty KV cache, second "
                                      f"half scored; greedy: {GREEDY_N} tokens after the text's first "
                                      f"{GREEDY_PROMPT}; runtime llama.cpp"}
            path.write_text(json.dumps(known, indent=2) + "\n")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return {t: known[t] for t in types}
