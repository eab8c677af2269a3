"""Precision converters: each output loads in ORT, runs, and lands in the expected error band."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from harness.agent import agent
from harness.analysis.fidelity import fidelity_metrics
from harness.builds import calibration, convert
from harness.builds.image import ResNetConfig, build_resnet
from harness.builds.text_lm import LMConfig, build_text_lm


def _generate(model, prompt):
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    out = agent.lm_generate(np, sess, prompt, 12, agent._Timer(0.0), keep=True)
    return {"p/prefill_logits": out["prefill_logits"], "g/tokens": out["tokens"], "g/logits": out["step_logits"]}


@pytest.fixture(scope="module")
def lm():
    return build_text_lm(LMConfig(outlier_channels=4), seed=0)  # the built-in size


@pytest.mark.slow
def test_text_lm_fidelity_bands_and_reproducibility(lm):
    prompt = np.random.default_rng(2).integers(2, 4096, (1, 24))
    feeds = calibration.lm_feeds(lm, {"p/input_ids": np.random.default_rng(3).integers(2, 4096, (1, 24))}, 4)
    assert any(f["input_ids"].shape[1] == 1 for f in feeds) and any(f["input_ids"].shape[1] == 24 for f in feeds)
    ref = _generate(lm, prompt)
    rel = {}
    for prec in ("fp16", "int8", "int8-static", "int4"):
        conv = convert.convert(prec, lm, feeds)
        assert conv.converter["version"] == ort.__version__
        out = _generate(conv.model, prompt)
        rel[prec] = {m.name: m.value for m in fidelity_metrics("text-generation", ref, out)}["rel_l2"]
        again = {m.name: m.value for m in fidelity_metrics("text-generation", ref, _generate(conv.model, prompt))}
        assert again["rel_l2"] == rel[prec]  # reproducible run to run
    assert 1e-4 <= rel["fp16"] <= 1e-3
    for prec in ("int8", "int8-static", "int4"):
        assert rel[prec] > 10 * rel["fp16"], rel


def test_converters_report_what_they_left_untouched():
    cnn = build_resnet(ResNetConfig(image=32, widths=(8, 16), classes=10), seed=0)
    int4 = convert.to_int4(cnn, block_size=16)
    assert "int4: all Conv weights unchanged (fp32)" in int4.notes
    assert int4.converter["parameters"] == {"bits": 4, "block_size": 16, "is_symmetric": True, "accuracy_level": 4}
    int8 = convert.to_int8_dynamic(cnn)
    assert not any("Conv weights unchanged" in n for n in int8.notes)
    assert any(n.op_type == "ConvInteger" for n in int8.model.graph.node)  # and it runs (below): no stale note
    assert not any("ConvInteger" in n for n in int8.notes)
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    static = convert.to_int8_static(cnn, [{"pixel_values": x}])
    assert any(n.op_type == "QuantizeLinear" for n in static.model.graph.node)
    for conv in (int4, int8, static, convert.to_fp16(cnn)):
        sess = ort.InferenceSession(conv.model.SerializeToString(), providers=["CPUExecutionProvider"])
        assert sess.run(None, {"pixel_values": x})[0].shape == (1, 10)


def test_int4_block_size_must_be_a_power_of_two():
    cnn = build_resnet(ResNetConfig(image=32, widths=(8,), classes=10), seed=0)
    with pytest.raises(ValueError, match="power of two >= 16, got 24"):
        convert.to_int4(cnn, block_size=24)


def test_static_without_feeds_is_a_clear_error():
    cnn = build_resnet(ResNetConfig(image=32, widths=(8,), classes=10), seed=0)
    with pytest.raises(ValueError, match="calibration feeds"):
        convert.convert("int8-static", cnn, [])
