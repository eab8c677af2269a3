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
    assert "not image-classification" in (get_runtime("onnxruntime-genai").cannot_run("image-classification") or "")
    np.savez(tmp_path / "x.npz", **{"/x": np.zeros((1, 3, 16, 16), np.float32)})
    result = agent.run_job({"protocol": 1, "kind": "single", "models": {"model": str(cnn)},
                            "inputs": str(tmp_path / "x.npz"), "runtime": {"name": "onnxruntime-genai"},
                            "measure": FAST, "out_dir": str(tmp_path / "o")})
    assert result["status"] == "failed"
    assert "runtime onnxruntime-genai runs text-generation jobs, not 'single'" in result["error"]


@pytest.mark.slow
def test_harness_run_with_an_onnxruntime_genai_backend(tmp_path: Path) -> None:
    """A device with an ORT and a GenAI backend: every cell ok; GenAI's fp32 greedy tokens are ORT's."""
    import os
    import subprocess
    import sys

    import yaml

    from harness.results.store import Store

    workload = {"name": "tiny-lm", "kind": "text-generation",
                "model": {"builtin": "text-lm", "options": {"layers": 2, "hidden": 64, "heads": 4, "kv_heads": 2,
                                                            "ffn": 96, "vocab": 300}},
                "generation": {"prompt": [8], "generate": [6]}, "precisions": ["fp32", "int4"],
                "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 3, "min_seconds": 0.02, "max_seconds": 0.5}}
    profile = {"name": "genai-local", "transport": {"kind": "local"},
               "runner": {"kind": "python", "interpreter": sys.executable, "prestart": False},
               "threads": {"intra_op": 1, "inter_op": 1},
               "backends": [{"name": "ort", "provider": "CPUExecutionProvider"},
                            {"name": "genai", "runtime": "onnxruntime-genai"}]}
    (tmp_path / "wl.yaml").write_text(yaml.safe_dump(workload))
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(profile))
    env = {**os.environ, "HARNESS_BUILDS": str(tmp_path / "builds"), "HARNESS_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(tmp_path / "dev.yaml"), "-w",
                           str(tmp_path / "wl.yaml"), "--store", str(tmp_path / "s.db"), "--no-report"],
                          cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    store = Store(str(tmp_path / "s.db"))
    cells = store.cells_frame()
    assert sorted(zip(cells.backend, cells.precision, cells.status)) == [
        ("genai", "fp32", "ok"), ("genai", "int4", "ok"), ("ort", "fp32", "ok"), ("ort", "int4", "ok")]
    metrics = store.metrics_frame([cells.run_id.iloc[0]])
    genai_fp32 = cells[(cells.backend == "genai") & (cells.precision == "fp32")].id.iloc[0]
    match = metrics[(metrics.cell_id == genai_fp32) & (metrics.metric == "token_match")]["value"]
    assert match.tolist() == [1.0]
    assert {"decode_ms@p8g6", "ttft_ms@p8"} <= set(metrics[metrics.cell_id == genai_fp32].metric)


def test_fidelity_skips_only_the_prompt_logits_a_last_position_loop_cannot_give() -> None:
    from harness.analysis.fidelity import fidelity_metrics

    rng = np.random.default_rng(0)
    ref = {"p/prefill_logits": rng.random((4, 9)), "g/logits": rng.random((3, 9)), "g/tokens": np.array([1, 2, 3])}
    got = {"g/logits": ref["g/logits"], "g/tokens": ref["g/tokens"]}
    values = {m.name: m.value for m in fidelity_metrics("text-generation", ref, got)}
    assert values["token_match"] == 1.0 and values["rel_l2"] == 0.0
    with pytest.raises(ValueError, match="lack"):
        fidelity_metrics("text-generation", ref, {"p/prefill_logits": ref["p/prefill_logits"]})
