"""The Llama-style LM builder: KV-cache decoding and padding equal the full-sequence run."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.builds.text_lm import LMConfig, build_text_lm

CFG = LMConfig(vocab=300, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96, outlier_channels=2)


@pytest.fixture(scope="module")
def sess():
    return ort.InferenceSession(build_text_lm(CFG, seed=3).SerializeToString(), providers=["CPUExecutionProvider"])


def _empty(batch):
    return {
        f"past_key_values.{i}.{kv}": np.zeros((batch, CFG.kv_heads, 0, CFG.head_dim), np.float32)
        for i in range(CFG.layers)
        for kv in ("key", "value")
    }


def _run(sess, ids, mask, pos, past):
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(None, {"input_ids": ids, "attention_mask": mask, "position_ids": pos, **past})))
    present = {n.replace("present", "past_key_values"): out[n] for n in names if n.startswith("present")}
    return out["logits"], present


def test_io_follows_optimum_names(sess):
    ins = [i.name for i in sess.get_inputs()]
    outs = [o.name for o in sess.get_outputs()]
    assert ins[:3] == ["input_ids", "attention_mask", "position_ids"]
    assert "past_key_values.1.value" in ins and outs[0] == "logits" and "present.1.key" in outs
    assert sess.get_inputs()[3].shape == ["batch", CFG.kv_heads, "past_seq", CFG.head_dim]  # GQA: 2 kv heads


def test_prefill_plus_incremental_kv_decoding_equals_full_sequence(sess):
    ids = np.random.default_rng(0).integers(0, CFG.vocab, (1, 10))
    full, _ = _run(sess, ids, np.ones((1, 10), np.int64), np.arange(10)[None], _empty(1))
    logits, past = _run(sess, ids[:, :6], np.ones((1, 6), np.int64), np.arange(6)[None], _empty(1))
    steps = [logits]
    for t in range(6, 10):
        logits, past = _run(sess, ids[:, t : t + 1], np.ones((1, t + 1), np.int64), np.array([[t]]), past)
        steps.append(logits)
    assert past["past_key_values.0.key"].shape == (1, CFG.kv_heads, 10, CFG.head_dim)
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, atol=1e-4, rtol=1e-4)


def test_left_padded_batch_equals_unpadded_sequences(sess):
    rng = np.random.default_rng(1)
    a, b = rng.integers(0, CFG.vocab, (1, 5)), rng.integers(0, CFG.vocab, (1, 8))
    ref_a, _ = _run(sess, a, np.ones((1, 5), np.int64), np.arange(5)[None], _empty(1))
    ref_b, _ = _run(sess, b, np.ones((1, 8), np.int64), np.arange(8)[None], _empty(1))
    ids = np.concatenate([np.concatenate([np.zeros((1, 3), np.int64), a], 1), b], 0)
    mask = np.ones((2, 8), np.int64)
    mask[0, :3] = 0
    pos = np.clip(np.cumsum(mask, 1) - 1, 0, None)
    out, _ = _run(sess, ids, mask, pos, _empty(2))
    np.testing.assert_allclose(out[0, 3:], ref_a[0], atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(out[1], ref_b[0], atol=1e-4, rtol=1e-4)
    assert np.isfinite(out).all()  # fully masked pad rows stay finite


def test_same_seed_same_bytes_other_seed_other_weights():
    assert build_text_lm(CFG, 3).SerializeToString() == build_text_lm(CFG, 3).SerializeToString()
    assert build_text_lm(CFG, 3).SerializeToString() != build_text_lm(CFG, 4).SerializeToString()


def test_unknown_option_is_named():
    with pytest.raises(ValueError, match="hiddn"):
        LMConfig.from_options({"hiddn": 3})
