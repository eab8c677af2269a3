"""LLM quality of ONNX decoder precisions on the same token ids as llama.cpp's (``builds.gguf_quality``).

Same method, same ids, same reference: the text's ids from the GGUF's own tokenizer are cut into
chunks of ``n_ctx``, each run as one prefill on an empty KV cache (llama-perplexity's KL mode);
the reference logits are the reference GGUF's from llama.cpp, so KL, top-1 agreement and
perplexity of an ONNX Runtime precision stand beside the GGUF types' in one table. Greedy
agreement: the agent's own generation loop for N tokens after the same prompt.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from harness.analysis.llm_quality import (
    greedy_agreement,
    next_token_kl,
    next_token_nll,
    scored_positions,
    summarize_quality,
    top1_matches,
)

ROWS = 128  # rows of logits compared at a time


def _session(model: Path, threads: int) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    return ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])


def _empty_past(sess: ort.InferenceSession) -> dict[str, np.ndarray]:
    past = {}
    for meta in sess.get_inputs():
        if meta.name.startswith("past_key_values."):
            past[meta.name] = np.zeros((1, meta.shape[1], 0, meta.shape[3]), np.float32)
    return past


def _step(sess: ort.InferenceSession, ids: np.ndarray, start: int, past: dict[str, np.ndarray]
          ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One call: ids [1, S] at positions start.. after ``past``; (logits [S, V], the next past)."""
    n = ids.shape[1]
    feeds = {"input_ids": ids, "attention_mask": np.ones((1, start + n), np.int64),
             "position_ids": np.arange(start, start + n, dtype=np.int64).reshape(1, -1), **past}
    names = [o.name for o in sess.get_outputs()]
    outs = dict(zip(names, sess.run(names, feeds)))
    nxt = {"past_key_values." + k[len("present."):]: v for k, v in outs.items() if k.startswith("present.")}
    return outs["logits"][0], nxt


def chunk_logits(sess: ort.InferenceSession, ids: np.ndarray, n_ctx: int) -> np.ndarray:
    """[whole chunks x n_ctx, vocab] float32 logits: each chunk one prefill on an empty KV cache."""
    rows = [_step(sess, np.asarray(ids[c * n_ctx:(c + 1) * n_ctx], np.int64).reshape(1, -1), 0,
                  _empty_past(sess))[0].astype(np.float32) for c in range(len(ids) // n_ctx)]
    return np.concatenate(rows) if rows else np.zeros((0, 0), np.float32)


def greedy_tokens(sess: ort.InferenceSession, prompt: np.ndarray, n: int) -> np.ndarray:
    """n greedy tokens after ``prompt`` through the KV cache."""
    logits, past = _step(sess, np.asarray(prompt, np.int64).reshape(1, -1), 0, _empty_past(sess))
    tokens = [int(np.argmax(logits[-1]))]
    while len(tokens) < n:
        logits, past = _step(sess, np.array([[tokens[-1]]], np.int64), len(prompt) + len(tokens) - 1, past)
        tokens.append(int(np.argmax(logits[-1])))
    return np.array(tokens, np.int64)


def onnx_quality(models: Mapping[str, Path], ids: np.ndarray, reference_logits: np.ndarray,
                 reference_greedy: np.ndarray, *, n_ctx: int, greedy_prompt: int, threads: int = 2,
                 note: Callable[[str], None] | None = None) -> dict[str, dict[str, Any]]:
    """{precision: QualitySummary as a dict} of each ONNX model against the reference's logits and
    greedy tokens (``reference_logits``: rows = positions of ``ids`` in whole chunks)."""
    rows = scored_positions(reference_logits.shape[0], n_ctx)
    nll_ref = np.concatenate([next_token_nll(np.asarray(reference_logits[rows[i:i + ROWS]]), ids[rows[i:i + ROWS] + 1])
                              for i in range(0, len(rows), ROWS)])
    out: dict[str, dict[str, Any]] = {}
    for precision, path in models.items():
        if note:
            note(f"quality of ONNX {precision}")
        sess = _session(path, threads)
        test = chunk_logits(sess, ids, n_ctx)
        if test.shape != reference_logits.shape:
            raise ValueError(f"ONNX {precision} logits are {test.shape}, the reference's {reference_logits.shape}")
        kl, top1, nll = [], [], []
        for i in range(0, len(rows), ROWS):
            r = rows[i:i + ROWS]
            a, b = np.asarray(reference_logits[r]), test[r]
            kl.append(next_token_kl(a, b))
            top1.append(top1_matches(a, b))
            nll.append(next_token_nll(b, ids[r + 1]))
        greedy = greedy_agreement(reference_greedy, greedy_tokens(sess, ids[:greedy_prompt], len(reference_greedy)))
        summary = summarize_quality(np.concatenate(kl), np.concatenate(top1), np.concatenate(nll), nll_ref, greedy)
        out[precision] = {**summary.as_dict(), "n_ctx": n_ctx, "runtime": "onnxruntime",
                          "method": f"llama-perplexity KL mode on ONNX Runtime: chunks of {n_ctx}, one prefill each "
                                    f"on an empty KV cache, second half scored; greedy: {len(reference_greedy)} "
                                    f"tokens after the first {greedy_prompt}"}
    return out
