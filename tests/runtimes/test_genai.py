"""runtime onnxruntime-genai: a GenAI folder for the project's ONNX decoder, run by the agent's
adapter, makes the same greedy tokens and logits as the ONNX Runtime text-generation kind."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from harness.agent import agent
from harness.builds.image import ResNetConfig, build_resnet
from harness.builds.text_lm import LMConfig, build_text_lm
from harness.runtimes.base import CannotMake, ModelInfo
from harness.runtimes.registry import get_runtime

pytest.importorskip("onnxruntime_genai")  # the test extra installs it

LM = LMConfig(vocab=300, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96)
FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 2, "min_seconds": 0.0, "max_seconds": 2.0}
GRID = [{"label": "p6g5", "prompt": "p6", "generate": 5}, {"label": "p3g2", "prompt": "p3", "generate": 2}]


def _job(tmp_path: Path, models: dict[str, str], runtime: dict | None, out: str) -> dict:
    job = {"protocol": 1, "kind": "text-generation", "models": models, "inputs": str(tmp_path / "in.npz"),
           "params": {"grid": GRID}, "session": {"intra_op_num_threads": 1}, "measure": FAST,
           "out_dir": str(tmp_path / out)}
    if runtime is not None:
        job["runtime"] = runtime
    return job


def _outputs(path: Path) -> dict[str, np.ndarray]:
    with np.load(path / "outputs.npz") as z:
        return {k: z[k] for k in z.files}


def test_genai_cell_matches_the_onnxruntime_cell(tmp_path: Path) -> None:
    model = tmp_path / "lm.onnx"
    onnx.save(build_text_lm(LM, seed=5), model)
    rng = np.random.default_rng(6)
    np.savez(tmp_path / "in.npz", **{"p6/input_ids": rng.integers(3, LM.vocab, (1, 6)),
                                     "p3/input_ids": rng.integers(3, LM.vocab, (1, 3))})
    made = get_runtime("onnxruntime-genai").convert(ModelInfo(model, {}, []), "fp32", tmp_path / "genai")
    config = made.files["config"]
    assert made.files["model"] == model and config.name == "genai_config.json"

    ort_result = agent.run_job(_job(tmp_path, {"model": str(model)}, None, "ort"))
    assert ort_result["status"] == "ok", ort_result["traceback"]
    job = _job(tmp_path, {"model": str(model), "config": str(config)},
               {"name": "onnxruntime-genai", "options": {}, "settings": {}, "io": made.io.to_json()}, "genai")
    result = agent.run_job(job)
    assert result["status"] == "ok", result["traceback"]
    assert set(result["series"]) == set(ort_result["series"])  # ttft / decode / generation per grid cell
    n = len(result["series"]["generation_ms@p6g5"]["samples"])
    assert len(result["series"]["decode_ms@p6g5"]["samples"]) == 4 * n
    assert result["env"]["runtimes"]["onnxruntime-genai"] and result["session"]["intra_op_num_threads"] == 1
    assert result["providers"]["used"] == "onnxruntime-genai:cpu"
    ref, got = _outputs(tmp_path / "ort"), _outputs(tmp_path / "genai")
    for label in ("p6g5", "p3g2"):
        np.testing.assert_array_equal(got[f"{label}/tokens"], ref[f"{label}/tokens"])
        np.testing.assert_allclose(got[f"{label}/logits"], ref[f"{label}/logits"], atol=1e-4, rtol=0)


def test_a_single_job_or_a_non_decoder_is_refused_with_the_reason(tmp_path: Path) -> None:
    cnn = tmp_path / "cnn.onnx"
    onnx.save(build_resnet(ResNetConfig(image=16, widths=[4], classes=3), 0), cnn)
    with pytest.raises(CannotMake, match="onnxruntime-genai runs decoders"):
        get_runtime("onnxruntime-genai").convert(ModelInfo(cnn, {}, []), "fp32", tmp_path / "out")
    assert get_runtime("onnxruntime-genai").cannot_run("image-classification")
    np.savez(tmp_path / "x.npz", **{"/x": np.zeros((1, 3, 16, 16), np.float32)})
    result = agent.run_job({"protocol": 1, "kind": "single", "models": {"model": str(cnn)},
                            "inputs": str(tmp_path / "x.npz"), "runtime": {"name": "onnxruntime-genai"},
                            "measure": FAST, "out_dir": str(tmp_path / "o")})
    assert result["status"] == "failed"
    assert "runtime onnxruntime-genai runs text-generation jobs, not 'single'" in result["error"]
