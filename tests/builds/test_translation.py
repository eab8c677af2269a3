"""Marian-style encoder / decoder / decoder-with-past: incremental == full, padding-invariant."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.builds.translation import MarianConfig, build_translation

CFG = MarianConfig(vocab=200, dim=32, heads=2, ffn=64, encoder_layers=2, decoder_layers=2)


@pytest.fixture(scope="module")
def sessions():
    return {
        role: ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
        for role, m in build_translation(CFG, 1).items()
    }


def _run(sess, feeds):
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def test_decoder_with_past_equals_full_decoder(sessions):
    rng = np.random.default_rng(0)
    src, am = rng.integers(2, CFG.vocab, (1, 7)), np.ones((1, 7), np.int64)
    enc = _run(sessions["encoder"], {"input_ids": src, "attention_mask": am})["last_hidden_state"]
    tgt = np.array([[0, 5, 9, 13, 7]])
    full = _run(sessions["decoder"], {"input_ids": tgt, "encoder_attention_mask": am, "encoder_hidden_states": enc})
    first = _run(sessions["decoder"], {"input_ids": tgt[:, :1], "encoder_attention_mask": am, "encoder_hidden_states": enc})
    past = {k.replace("present", "past_key_values"): v for k, v in first.items() if k.startswith("present")}
    steps = [first["logits"]]
    for t in range(1, 5):
        out = _run(sessions["decoder_with_past"], {"input_ids": tgt[:, t : t + 1], "encoder_attention_mask": am, **past})
        steps.append(out["logits"])
        past.update({k.replace("present", "past_key_values"): v for k, v in out.items() if k.startswith("present")})
    np.testing.assert_allclose(np.concatenate(steps, 1), full["logits"], atol=1e-4, rtol=1e-4)


def test_padded_source_equals_unpadded(sessions):
    rng = np.random.default_rng(1)
    src, am = rng.integers(2, CFG.vocab, (1, 6)), np.ones((1, 6), np.int64)
    enc = _run(sessions["encoder"], {"input_ids": src, "attention_mask": am})["last_hidden_state"]
    src_p = np.concatenate([src, np.zeros((1, 3), np.int64)], 1)
    am_p = np.concatenate([am, np.zeros((1, 3), np.int64)], 1)
    enc_p = _run(sessions["encoder"], {"input_ids": src_p, "attention_mask": am_p})["last_hidden_state"]
    np.testing.assert_allclose(enc_p[:, :6], enc, atol=1e-5)
    tgt = np.array([[0, 4, 8]])
    a = _run(sessions["decoder"], {"input_ids": tgt, "encoder_attention_mask": am, "encoder_hidden_states": enc})
    b = _run(sessions["decoder"], {"input_ids": tgt, "encoder_attention_mask": am_p, "encoder_hidden_states": enc_p})
    np.testing.assert_allclose(b["logits"], a["logits"], atol=1e-4, rtol=1e-4)


def test_decoders_share_weights_and_bytes_are_deterministic():
    one, two = build_translation(CFG, 1), build_translation(CFG, 1)
    assert all(one[r].SerializeToString() == two[r].SerializeToString() for r in one)
    w = {t.name: t.raw_data for t in one["decoder"].graph.initializer}
    wp = {t.name: t.raw_data for t in one["decoder_with_past"].graph.initializer}
    assert w["decoder.1.fc2.weight"] == wp["decoder.1.fc2.weight"]
