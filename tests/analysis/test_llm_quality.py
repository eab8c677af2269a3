"""LLM quality metrics (analysis.llm_quality): properties, and agreement with an independent computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.special import log_softmax as scipy_log_softmax
from scipy.special import rel_entr, softmax

from harness.analysis.llm_quality import (
    greedy_agreement,
    log_softmax,
    next_token_kl,
    next_token_nll,
    perplexity,
    scored_positions,
    summarize_quality,
    top1_matches,
)

logits = arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(2, 40)),
                elements=st.floats(-30, 30, width=32))


@given(a=logits, data=st.data())
@settings(max_examples=60, deadline=None)
def test_kl_is_non_negative_zero_on_itself_and_matches_scipy(a: np.ndarray, data: st.DataObject) -> None:
    b = data.draw(arrays(np.float32, a.shape, elements=st.floats(-30, 30, width=32)))
    kl = next_token_kl(a, b)
    assert (kl >= 0).all()
    np.testing.assert_allclose(next_token_kl(a, a), 0, atol=1e-9)
    independent = rel_entr(softmax(a.astype(np.float64), axis=-1), softmax(b.astype(np.float64), axis=-1)).sum(-1)
    np.testing.assert_allclose(kl, np.maximum(independent, 0), rtol=1e-6, atol=1e-9)


@given(a=logits)
def test_log_softmax_is_a_distribution_and_shift_invariant(a: np.ndarray) -> None:
    lp = log_softmax(a)
    np.testing.assert_allclose(np.exp(lp).sum(-1), 1, rtol=1e-9)
    np.testing.assert_allclose(lp, log_softmax(a + 7.0), atol=1e-5)
    np.testing.assert_allclose(lp, scipy_log_softmax(a.astype(np.float64), axis=-1), atol=1e-9)


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size() -> None:
    vocab = 50
    nll = next_token_nll(np.zeros((7, vocab)), np.arange(7))
    assert perplexity(nll) == pytest.approx(vocab)


def test_nll_refuses_ids_outside_the_vocabulary() -> None:
    with pytest.raises(ValueError, match="outside the vocabulary"):
        next_token_nll(np.zeros((2, 5)), np.array([1, 5]))


def test_top1_and_greedy_agreement() -> None:
    a = np.array([[0, 1, 2.0], [3, 0, 0]])
    b = np.array([[0, 5, 2.0], [3, 0, 0]])
    assert top1_matches(a, b).tolist() == [False, True]
    g = greedy_agreement(np.array([1, 2, 3, 4]), np.array([1, 2, 9, 4]))
    assert (g.n, g.matched, g.first_divergence) == (4, 0.75, 2)
    assert greedy_agreement(np.array([1, 2]), np.array([1, 2])).first_divergence is None


@given(n=st.integers(0, 5000), ctx=st.integers(4, 1024))
def test_scored_positions_are_second_halves_with_a_next_token_in_the_chunk(n: int, ctx: int) -> None:
    rows = scored_positions(n, ctx)
    assert len(rows) == (n // ctx) * (ctx - 1 - ctx // 2)
    if len(rows):
        assert (rows % ctx >= ctx // 2).all() and (rows % ctx <= ctx - 2).all() and rows.max() + 1 < n + 1


def test_summary_agrees_with_its_parts() -> None:
    rng = np.random.default_rng(0)
    ref, test = rng.normal(size=(64, 30)), rng.normal(size=(64, 30))
    ids = rng.integers(0, 30, size=64)
    s = summarize_quality(next_token_kl(ref, test), top1_matches(ref, test), next_token_nll(test, ids),
                          next_token_nll(ref, ids), greedy_agreement(np.arange(5), np.arange(5)))
    assert s.positions == 64 and s.greedy_match == 1.0
    assert math.log(s.ppl / s.ppl_reference) == pytest.approx(s.ln_ppl_ratio)
    assert s.kl_median <= s.kl_p99 <= s.kl_max
    with pytest.raises(ValueError, match="no scored positions"):
        summarize_quality(np.zeros(0), np.zeros(0, bool), np.zeros(0), np.zeros(0), greedy_agreement([], []))
