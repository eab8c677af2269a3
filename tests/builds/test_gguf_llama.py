"""The GGUF -> ONNX decoder builder against an independent numpy forward pass in llama.cpp's layout."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.agent import agent
from harness.builds.gguf_llama import build_from_gguf, open_llama, unpermute_rows
from harness.errors import HarnessError
from tests.builds.llama_gguf import TINY, _permute, reference_logits, write_tiny_llama


@pytest.mark.parametrize("qtype, tied", [("Q8_0", True), ("Q4_1", False)])
def test_onnx_decoder_matches_reference_through_the_kv_cache(tmp_path: Path, qtype: str, tied: bool) -> None:
    path = write_tiny_llama(tmp_path / "tiny.gguf", qtype=qtype, tied=tied)
    model, io, source = build_from_gguf(path)
    assert io["vocab"] == TINY["vocab"] and io["layers"] == TINY["layers"] and io["kv_heads"] == TINY["kv_heads"]
    assert source["gguf"]["tied_embeddings"] is tied and qtype in source["note"]
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    prompt = np.random.default_rng(1).integers(0, TINY["vocab"], 12)
    out = agent.lm_generate(np, sess, prompt, 6, agent._Timer(0.0), keep=True, steps=agent.decode_steps(ort, np, sess))
    ids = np.concatenate([prompt, out["tokens"][:-1]])  # every position whose logits were produced
    got = np.concatenate([out["prefill_logits"], out["step_logits"][1:]])
    ref = reference_logits(path, ids)
    assert np.abs(got - ref).max() <= 1e-5 * np.abs(ref).max()
    np.testing.assert_array_equal(got.argmax(-1), ref.argmax(-1))


@settings(max_examples=30, deadline=None)
@given(heads=st.integers(1, 6), half=st.integers(1, 8), fan_in=st.integers(1, 5))
def test_unpermute_inverts_the_converters_permutation(heads: int, half: int, fan_in: int) -> None:
    w = np.arange(heads * half * 2 * fan_in, dtype=np.float32).reshape(heads * half * 2, fan_in)
    np.testing.assert_array_equal(unpermute_rows(_permute(w, heads), heads), w)


def test_not_llama_or_not_gguf_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("not a gguf")
    with pytest.raises(HarnessError, match="notes.gguf: not a readable GGUF"):
        open_llama(bad)
    other = tmp_path / "gpt2.gguf"
    w = gguf.GGUFWriter(str(other), "gpt2")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(HarnessError, match="gpt2.gguf: general.architecture is 'gpt2'"):
        open_llama(other)


def test_onnx_quality_against_the_reference_logits_on_the_same_ids(tmp_path: Path) -> None:
    """KL / top-1 / perplexity of ONNX precisions vs reference logits, the way gguf_quality scores GGUF types."""
    from harness.builds import calibration, convert
    from harness.builds.onnx_llm_quality import onnx_quality

    path = write_tiny_llama(tmp_path / "tiny.gguf", qtype="Q8_0")
    model, _, _ = build_from_gguf(path)
    ids = np.random.default_rng(7).integers(0, TINY["vocab"], 64)
    n_ctx, prompt, n_greedy = 16, 8, 6
    ref = np.concatenate([reference_logits(path, ids[c:c + n_ctx]) for c in range(0, 64, n_ctx)])
    seq = list(ids[:prompt])
    for _ in range(n_greedy):
        seq.append(int(reference_logits(path, np.array(seq))[-1].argmax()))
    ref_greedy = np.array(seq[prompt:])
    feeds = calibration.lm_feeds(model, {"p/input_ids": ids[None, :prompt]}, 4)
    models = {"fp32": tmp_path / "fp32.onnx", "int4": tmp_path / "int4.onnx"}
    onnx.save(model, models["fp32"])
    onnx.save(convert.convert("int4", model, feeds).model, models["int4"])
    got = onnx_quality(models, ids, ref, ref_greedy, n_ctx=n_ctx, greedy_prompt=prompt, threads=1)
    assert got["fp32"]["positions"] == 4 * (n_ctx // 2 - 1)
    assert got["fp32"]["kl_max"] < 1e-8 and got["fp32"]["top1_agreement"] == 1.0 and got["fp32"]["greedy_match"] == 1.0
    assert abs(got["fp32"]["ln_ppl_ratio"]) < 1e-5  # float32 vs the float64 reference
    assert got["int4"]["kl_mean"] > 1e3 * max(got["fp32"]["kl_mean"], 1e-12)  # re-quantizing Q8_0 weights shows


def test_a_text_generation_workload_naming_a_gguf_builds_every_onnx_precision(tmp_path: Path) -> None:
    import yaml

    from harness.builds.builder import build
    from harness.builds.manifest import load_manifest
    from harness.config.loader import load_workload

    write_tiny_llama(tmp_path / "tiny.gguf", qtype="Q4_1")
    (tmp_path / "wl.yaml").write_text(yaml.safe_dump({
        "name": "tiny-gguf", "kind": "text-generation", "model": {"gguf": "tiny.gguf"},
        "generation": {"prompt": [8], "generate": [4]}, "precisions": ["fp32", "fp16", "int8", "int4"]}))
    wl = load_workload(tmp_path / "wl.yaml")
    entry = load_manifest(build([(wl, tmp_path / "wl.yaml")], tmp_path / "builds")).workloads["tiny-gguf"]
    assert entry.error is None and set(entry.precisions) == {"fp32", "fp16", "int8", "int4"}
    assert not [p for p, pe in entry.precisions.items() if pe.failed_check]  # each loaded and ran at build time
    assert entry.source["builder"] == "gguf-llama" and "re-quantize" in entry.source["note"]
    assert entry.io["vocab"] == TINY["vocab"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"name": "bad", "kind": "image-classification",
                                                       "model": {"gguf": "tiny.gguf"}}))
    with pytest.raises(Exception, match="model.gguf is for llm workloads"):
        load_workload(tmp_path / "bad.yaml")
