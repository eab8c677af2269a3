"""LLM quality of a precision against the reference precision of the same weights, on the same token ids.

Pure functions over logits (rows = positions, columns = the vocabulary) and token ids; no I/O, no
runtime: llama.cpp's and ONNX Runtime's logits go through the same code. What they compute follows
llama-perplexity's KL-divergence mode (the anchor):

- next-token KL divergence KL(P_ref || P_test) per scored position, natural log (nats);
- top-1 agreement: the share of scored positions whose most likely next token is the same;
- perplexity: exp(mean negative log-likelihood of the actual next token);
- greedy-continuation agreement: the share of N greedy tokens equal to the reference's, and the
  first position where they part.

Scoring follows llama-perplexity: the text is cut into chunks of ``n_ctx`` tokens, each decoded on
an empty KV cache, and only the second half of each chunk is scored (every scored token then has at
least n_ctx/2 tokens of context); the last position of a chunk has no next token in that chunk.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64 (stable: the row maximum is subtracted first)."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def next_token_kl(ref_logits: np.ndarray, test_logits: np.ndarray) -> np.ndarray:
    """KL(P_ref || P_test) per row, nats; >= 0 (tiny negative rounding clipped to 0)."""
    if ref_logits.shape != test_logits.shape:
        raise ValueError(f"logits differ in shape: reference {ref_logits.shape}, test {test_logits.shape}")
    lp, lq = log_softmax(ref_logits), log_softmax(test_logits)
    kl = (np.exp(lp) * (lp - lq)).sum(axis=-1)
    return np.maximum(kl, 0.0)


def top1_matches(ref_logits: np.ndarray, test_logits: np.ndarray) -> np.ndarray:
    """Per row: whether the most likely next token is the same (bool)."""
    if ref_logits.shape != test_logits.shape:
        raise ValueError(f"logits differ in shape: reference {ref_logits.shape}, test {test_logits.shape}")
    return np.argmax(ref_logits, axis=-1) == np.argmax(test_logits, axis=-1)


def next_token_nll(logits: np.ndarray, next_ids: np.ndarray) -> np.ndarray:
    """Negative log-likelihood of each row's actual next token, nats."""
    next_ids = np.asarray(next_ids, dtype=np.int64)
    if logits.shape[0] != next_ids.shape[0]:
        raise ValueError(f"{logits.shape[0]} rows of logits but {next_ids.shape[0]} next tokens")
    if next_ids.size and (next_ids.min() < 0 or next_ids.max() >= logits.shape[-1]):
        raise ValueError("a next token id lies outside the vocabulary")
    lp = log_softmax(logits)
    return -lp[np.arange(len(next_ids)), next_ids]


def scored_positions(n_tokens: int, n_ctx: int) -> np.ndarray:
    """Row indices scored (second half of each whole chunk, its last row excluded)."""
    if n_ctx < 4:
        raise ValueError(f"n_ctx {n_ctx} is too small to score (at least 4)")
    chunks = n_tokens // n_ctx
    first = n_ctx // 2
    return np.concatenate([np.arange(c * n_ctx + first, (c + 1) * n_ctx - 1) for c in range(chunks)]) if chunks \
        else np.zeros(0, dtype=np.int64)


def perplexity(nll: np.ndarray) -> float:
    return float(math.exp(float(np.mean(nll)))) if len(nll) else float("nan")


@dataclass(frozen=True)
class GreedyAgreement:
    n: int
    matched: float  # share of positions equal
    first_divergence: int | None  # index of the first differing token, None if all equal


def greedy_agreement(ref_tokens: np.ndarray, test_tokens: np.ndarray) -> GreedyAgreement:
    a, b = np.asarray(ref_tokens), np.asarray(test_tokens)
    n = min(len(a), len(b))
    if n == 0:
        return GreedyAgreement(0, float("nan"), None)
    same = a[:n] == b[:n]
    diverge = np.flatnonzero(~same)
    return GreedyAgreement(n, float(same.mean()), int(diverge[0]) if diverge.size else None)


@dataclass(frozen=True)
class QualitySummary:
    """One precision against the reference, as llama-perplexity's KL mode reports it."""

    positions: int
    kl_mean: float
    kl_median: float
    kl_p99: float
    kl_max: float
    top1_agreement: float
    ppl: float
    ppl_reference: float
    ln_ppl_ratio: float  # ln(PPL(test) / PPL(ref)) = mean NLL difference
    greedy_n: int
    greedy_match: float
    greedy_first_divergence: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_quality(kl: np.ndarray, top1: np.ndarray, nll: np.ndarray, nll_ref: np.ndarray,
                      greedy: GreedyAgreement) -> QualitySummary:
    """Per-position values of the scored positions -> the summary."""
    if not (len(kl) == len(top1) == len(nll) == len(nll_ref)):
        raise ValueError("per-position arrays differ in length")
    if len(kl) == 0:
        raise ValueError("no scored positions: the text is shorter than one chunk")
    return QualitySummary(
        positions=int(len(kl)),
        kl_mean=float(np.mean(kl)),
        kl_median=float(np.median(kl)),
        kl_p99=float(np.percentile(kl, 99)),
        kl_max=float(np.max(kl)),
        top1_agreement=float(np.mean(top1)),
        ppl=perplexity(nll),
        ppl_reference=perplexity(nll_ref),
        ln_ppl_ratio=float(np.mean(nll) - np.mean(nll_ref)),
        greedy_n=greedy.n,
        greedy_match=greedy.matched,
        greedy_first_divergence=greedy.first_divergence,
    )
