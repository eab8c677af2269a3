"""The agent's text-generation and translation kinds on real (small) models and real ORT."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from harness.agent import agent
from harness.builds.text_lm import LMConfig, build_text_lm
from harness.builds.translation import MarianConfig, build_translation

FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 3, "min_seconds": 0.0, "max_seconds": 2.0}
LM = LMConfig(vocab=300, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96)
MT = MarianConfig(vocab=200, dim=32, heads=2, ffn=64, encoder_layers=1, decoder_layers=2)


def _job(tmp_path: Path, kind: str, models: dict, arrays: dict, params: dict) -> dict:
    np.savez(tmp_path / "inputs.npz", **arrays)
    return {
        "protocol": 1,
        "kind": kind,
        "models": models,
        "inputs": str(tmp_path / "inputs.npz"),
        "params": params,
        "session": {"intra_op_num_threads": 1},
        "measure": FAST,
        "out_dir": str(tmp_path / "out"),
    }


def _outputs(tmp_path: Path) -> dict:
    with np.load(tmp_path / "out" / "outputs.npz") as z:
        return {k: z[k] for k in z.files}


def _greedy_without_cache(path: Path, prompt: np.ndarray, n: int) -> list[int]:
    """Independent reference: recompute the whole sequence each step (no KV cache)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    ids = prompt.copy()
    empty = {
        f"past_key_values.{i}.{kv}": np.zeros((1, LM.kv_heads, 0, LM.head_dim), np.float32)
        for i in range(LM.layers)
        for kv in ("key", "value")
    }
    out = []
    for _ in range(n):
        t = ids.shape[1]
        feeds = {"input_ids": ids, "attention_mask": np.ones((1, t), np.int64), "position_ids": np.arange(t)[None]}
        logits = sess.run(["logits"], {**feeds, **empty})[0]
        out.append(int(logits[0, -1].argmax()))
        ids = np.concatenate([ids, [[out[-1]]]], axis=1)
    return out


def test_text_generation_kind(tmp_path: Path):
    path = tmp_path / "lm.onnx"
    path.write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    rng = np.random.default_rng(0)
    arrays = {"p8/input_ids": rng.integers(2, LM.vocab, (1, 8)), "p4/input_ids": rng.integers(2, LM.vocab, (1, 4))}
    grid = [{"label": "p8g5", "prompt": "p8", "generate": 5}, {"label": "p4g3", "prompt": "p4", "generate": 3}]
    result = agent.run_job(_job(tmp_path, "text-generation", {"model": str(path)}, arrays, {"grid": grid}))
    assert result["status"] == "ok", result["traceback"]
    series = result["series"]
    assert set(series) == {
        "ttft_ms@p8",
        "decode_ms@p8g5",
        "generation_ms@p8g5",
        "ttft_ms@p4",
        "decode_ms@p4g3",
        "generation_ms@p4g3",
    }
    n_gen = len(series["generation_ms@p8g5"]["samples"])
    assert n_gen >= 3 and len(series["ttft_ms@p8"]["samples"]) == n_gen
    assert len(series["decode_ms@p8g5"]["samples"]) == 4 * n_gen  # generate 5 = prefill token + 4 decode steps
    assert set(result["first_inference_ms"]) == {"p8g5", "p4g3"}
    assert result["providers"]["used"] == "CPUExecutionProvider" and result["providers"]["fallback"] is False
    out = _outputs(tmp_path)
    assert out["p8/prefill_logits"].shape == (8, LM.vocab) and out["p8g5/logits"].shape == (5, LM.vocab)
    assert out["p8g5/tokens"].tolist() == _greedy_without_cache(path, arrays["p8/input_ids"], 5)
    assert out["p4g3/tokens"].tolist() == _greedy_without_cache(path, arrays["p4/input_ids"], 3)


def test_text_generation_names_a_missing_prompt(tmp_path: Path):
    path = tmp_path / "lm.onnx"
    path.write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    grid = [{"label": "p9g2", "prompt": "p9", "generate": 2}]
    job = _job(tmp_path, "text-generation", {"model": str(path)}, {"p8/input_ids": np.ones((1, 8), np.int64)}, {"grid": grid})
    result = agent.run_job(job)
    assert result["status"] == "failed" and "'p9'" in result["error"] and "p8" in result["error"]


def test_translation_kind(tmp_path: Path):
    models = {}
    for role, m in build_translation(MT, seed=4).items():
        models[role] = str(tmp_path / f"{role}.onnx")
        Path(models[role]).write_bytes(m.SerializeToString())
    src = np.random.default_rng(1).integers(2, MT.vocab, (1, 6))
    arrays = {"s6/input_ids": src, "s6/attention_mask": np.ones((1, 6), np.int64)}
    result = agent.run_job(_job(tmp_path, "translation", models, arrays, {"max_new_tokens": 4}))
    assert result["status"] == "ok", result["traceback"]
    assert set(result["load_ms"]) == {"encoder", "decoder", "decoder_with_past"}
    assert result["session"]["allow_spinning"] is False  # three sessions share the cores
    n = len(result["series"]["sentence_ms@s6"]["samples"])
    assert len(result["series"]["encoder_ms@s6"]["samples"]) == n
    assert len(result["series"]["decoder_ms@s6"]["samples"]) == 3 * n
    out = _outputs(tmp_path)
    # reference: the full decoder re-run on the growing target, no cache
    enc = ort.InferenceSession(models["encoder"], providers=["CPUExecutionProvider"])
    dec = ort.InferenceSession(models["decoder"], providers=["CPUExecutionProvider"])
    hidden = enc.run(None, {"input_ids": src, "attention_mask": arrays["s6/attention_mask"]})[0]
    np.testing.assert_allclose(out["s6/encoder_hidden"], hidden, atol=1e-6)
    tgt = [MT.decoder_start_token_id]
    for _ in range(4):
        feeds = {
            "input_ids": np.array([tgt]),
            "encoder_attention_mask": arrays["s6/attention_mask"],
            "encoder_hidden_states": hidden,
        }
        tgt.append(int(dec.run(["logits"], feeds)[0][0, -1].argmax()))
    assert out["s6/tokens"].tolist() == tgt[1:]
    assert out["s6/logits"].shape == (4, MT.vocab)


def test_translation_needs_all_three_roles(tmp_path: Path):
    job = _job(tmp_path, "translation", {"encoder": "/nope.onnx"}, {"s1/input_ids": np.ones((1, 1), np.int64)}, {})
    result = agent.run_job(job)
    assert result["status"] == "failed" and "decoder" in result["error"]


@pytest.mark.parametrize("minor", [8])
def test_agent_still_parses_as_python_3_8(minor):
    src = (Path(agent.__file__)).read_text()
    ast.parse(src, feature_version=(3, minor))


def test_text_generation_without_kv_cache_reruns_the_sequence(tmp_path: Path):
    """An LM with no past_key_values inputs: each step must see the whole sequence."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    emb, head = rng.standard_normal((50, 8)).astype(np.float32), rng.standard_normal((8, 50)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["e"]),
        helper.make_node("CumSum", ["e", "axis"], ["c"]),  # depends on every earlier token
        helper.make_node("MatMul", ["c", "head"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "nocache",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["b", "s"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", "s", 50])],
        [
            numpy_helper.from_array(emb, "emb"),
            numpy_helper.from_array(head, "head"),
            numpy_helper.from_array(np.array(1, np.int64), "axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20)])
    model.ir_version = 10
    path = tmp_path / "nocache.onnx"
    path.write_bytes(model.SerializeToString())
    prompt = np.array([[1, 2, 3]])
    job = _job(
        tmp_path,
        "text-generation",
        {"model": str(path)},
        {"p3/input_ids": prompt},
        {"grid": [{"label": "p3g4", "prompt": "p3", "generate": 4}]},
    )
    result = agent.run_job(job)
    assert result["status"] == "ok", result["traceback"]
    expected, ids = [], prompt
    for _ in range(4):
        nxt = int((np.cumsum(emb[ids[0]], axis=0)[-1] @ head).argmax())
        expected.append(nxt)
        ids = np.concatenate([ids, [[nxt]]], axis=1)
    assert _outputs(tmp_path)["p3g4/tokens"].tolist() == expected


def test_generation_kinds_profile_placement_when_an_ep_has_a_cpu_fallback(tmp_path: Path):
    """The profiled placement run of each kind (skipped for CPU alone) still counts nodes per EP."""
    lm = tmp_path / "lm" / "lm.onnx"
    lm.parent.mkdir()
    lm.write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    gen = _job(lm.parent, "text-generation", {"model": str(lm)},
               {"p4/input_ids": np.random.default_rng(0).integers(2, LM.vocab, (1, 4))},
               {"grid": [{"label": "p4g2", "prompt": "p4", "generate": 2}]})
    mt = tmp_path / "mt"
    mt.mkdir()
    models = {}
    for role, m in build_translation(MT, seed=4).items():
        models[role] = str(mt / f"{role}.onnx")
        Path(models[role]).write_bytes(m.SerializeToString())
    src = np.random.default_rng(1).integers(2, MT.vocab, (1, 6))
    tr = _job(mt, "translation", models, {"s6/input_ids": src}, {"max_new_tokens": 2})
    for job in (gen, tr):
        result = agent.run_job(dict(job, provider="AzureExecutionProvider"))
        assert result["status"] == "ok", result["traceback"]
        prov = result["providers"]
        assert prov["placement_method"] == "profiled run" and prov["placement"]["CPUExecutionProvider"]["nodes"] > 0
