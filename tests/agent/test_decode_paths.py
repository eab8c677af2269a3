"""The text-generation kind's KV-cache paths (params.kv_cache): same outputs, the path named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.agent import agent
from harness.builds.text_lm import LMConfig, build_text_lm
from harness.protocol import parse_result

LM = LMConfig(vocab=300, hidden=64, layers=2, heads=4, kv_heads=2, ffn=96)
FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 2, "min_seconds": 0.0, "max_seconds": 2.0}


def _run(tmp_path: Path, kv_cache: str | None) -> tuple[dict, dict]:
    model = tmp_path / "lm.onnx"
    if not model.exists():
        model.write_bytes(build_text_lm(LM, seed=3).SerializeToString())
        np.savez(tmp_path / "in.npz", **{"p6/input_ids": np.random.default_rng(4).integers(2, LM.vocab, (1, 6))})
    out = tmp_path / f"out-{kv_cache}"
    params: dict = {"grid": [{"label": "p6g7", "prompt": "p6", "generate": 7}]}
    if kv_cache is not None:
        params["kv_cache"] = kv_cache
    result = agent.run_job({"protocol": 1, "kind": "text-generation", "models": {"model": str(model)},
                            "inputs": str(tmp_path / "in.npz"), "params": params,
                            "session": {"intra_op_num_threads": 1}, "measure": FAST, "out_dir": str(out)})
    if result["status"] != "ok":
        return result, {}
    with np.load(out / "outputs.npz") as z:
        return result, {k: z[k] for k in z.files}


def test_every_kv_cache_path_gives_the_same_outputs_and_is_named(tmp_path: Path) -> None:
    base, ref = _run(tmp_path, "numpy")
    assert base["session"]["kv_cache"] == "numpy"
    default, got = _run(tmp_path, None)
    assert default["session"]["kv_cache"] == "iobinding"  # the default
    parse_result(default)  # a str in the result's session settings stays protocol 1
    for name, value in ref.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    direct, got = _run(tmp_path, "direct")
    assert direct["session"]["kv_cache"] == "direct"
    for name, value in ref.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)
    for result in (default, direct, base):  # one sample per decode step, each inside its generation
        steps = result["series"]["decode_ms@p6g7"]["samples"]
        generations = result["series"]["generation_ms@p6g7"]["samples"]
        assert len(steps) == 6 * len(generations)
        assert all(0 < ms < gen for k, gen in enumerate(generations) for ms in steps[6 * k:6 * k + 6])
        assert all(sum(steps[6 * k:6 * k + 6]) < gen for k, gen in enumerate(generations))


def test_an_unknown_kv_cache_path_fails_the_cell_naming_the_choices(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "gpu")
    assert result["status"] == "failed"
    assert "params.kv_cache is 'gpu'" in result["error"] and "direct" in result["error"]


@pytest.mark.parametrize("method", agent.KV_CACHE_PATHS)
def test_a_session_that_is_not_orts_takes_the_public_api(method: str) -> None:
    """The recording session behind calibration data has no C++ binding under it."""

    class Output:
        name = "logits"

    class Recording:
        def get_outputs(self) -> list:
            return [Output()]

    assert agent.decode_steps(None, np, Recording(), method).method == "numpy"


def test_llm_kind_on_onnx_runtime_names_its_series_as_the_llm_runner_does(tmp_path: Path) -> None:
    model = tmp_path / "lm.onnx"
    model.write_bytes(build_text_lm(LM, seed=3).SerializeToString())
    job = {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
           "params": {"pp": [8, 40], "tg": [4], "depths": [0, 16], "ids": list(range(1, 50)), "n_ctx": 48},
           "session": {"intra_op_num_threads": 1}, "measure": FAST, "out_dir": str(tmp_path / "out")}
    result = agent.run_job(job)
    assert result["status"] == "ok", result["traceback"]
    series = result["series"]
    assert set(series) == {"pp8@d0", "pp40@d0", "tg4@d0", "pp8@d16", "tg4@d16", "ttft8_ms", "ttft40_ms"}
    assert all(series[k]["unit"] == "tok/s" for k in series if not k.startswith("ttft"))
    assert len(series["ttft8_ms"]["samples"]) == len(series["pp8@d0"]["samples"])
    # pp tok/s and the time to first token come from the same repetitions; the timed call holds the ttft
    for tok_s, ttft in zip(series["pp8@d0"]["samples"], series["ttft8_ms"]["samples"]):
        assert tok_s <= 8 * 1000 / ttft
    assert result["session"]["skipped"] == "pp40@d16: past the model's context (48)"
    assert set(result["first_inference_ms"]) == {"pp8@d0"} and result["load_ms"]["model"] > 0
    parse_result(result)
    job["params"]["ids"] = [1, LM.vocab]
    bad = agent.run_job(job)
    assert bad["status"] == "failed" and f"outside the model's vocabulary of {LM.vocab}" in bad["error"]


def test_direct_path_hands_orts_own_cache_tensors_back_and_reads_logits_in_place(tmp_path: Path) -> None:
    """The default path makes no numpy array per cache tensor: each present.* OrtValue ORT returned goes
    back as the next step's past_key_values.*, and the logits are read over ORT's buffer, not copied."""
    import onnxruntime as ort

    model = tmp_path / "lm.onnx"
    model.write_bytes(build_text_lm(LM, seed=3).SerializeToString())
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    steps = agent.decode_steps(ort, np, sess)
    numpy_steps = agent.decode_steps(ort, np, sess, "numpy")
    ids = np.array([[5, 7, 9]], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones((1, 3), np.int64),
             "position_ids": np.arange(3, dtype=np.int64).reshape(1, 3)}
    logits, past = steps.run(dict(feeds), steps.empty_past())
    ref_logits, ref_past = numpy_steps.run(dict(feeds), numpy_steps.empty_past())
    assert set(past) == set(ref_past) and all(not isinstance(v, np.ndarray) for v in past.values())
    view = steps.array(logits)
    assert view.ctypes.data == logits.data_ptr()  # a view of ORT's output, no copy
    np.testing.assert_array_equal(view, ref_logits)
    step = {"input_ids": np.array([[int(np.argmax(view[0, -1]))]], dtype=np.int64),
            "attention_mask": np.ones((1, 4), np.int64), "position_ids": np.array([[3]], dtype=np.int64)}
    logits, past = steps.run(dict(step), past)
    ref_logits, ref_past = numpy_steps.run(dict(step), ref_past)
    np.testing.assert_array_equal(steps.array(logits), ref_logits)
    for name, value in ref_past.items():
        np.testing.assert_array_equal(past[name].numpy(), value, err_msg=name)


def test_bound_path_times_the_run_alone_and_lets_the_cache_go(tmp_path: Path) -> None:
    """The default path's decode steps: tokens and step logits equal the public run's, one timed Run per
    step, the cache OrtValues ORT returned bound as the next step's past, the binding emptied after."""
    import onnxruntime as ort

    model = tmp_path / "lm.onnx"
    model.write_bytes(build_text_lm(LM, seed=3).SerializeToString())
    sess = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    bound = agent.decode_steps(ort, np, sess)
    assert isinstance(bound, agent._BoundSteps) and bound.method == "iobinding"
    runs = []
    real_run = bound._run_bound

    def counted(binding, options):  # the call decode() times: the binding's Run, nothing else
        runs.append(len(binding.get_outputs()))  # every output bound before the timed call
        real_run(binding, options)

    bound._run_bound = counted
    prompt = np.random.default_rng(4).integers(2, LM.vocab, (1, 6))
    timer = agent._Timer(0.0)
    got = agent.lm_generate(np, sess, prompt, 9, timer, keep=True, steps=bound)
    ref = agent.lm_generate(np, sess, prompt, 9, timer, keep=True, steps=agent.decode_steps(ort, np, sess, "numpy"))
    np.testing.assert_array_equal(got["tokens"], ref["tokens"])
    np.testing.assert_allclose(got["step_logits"], ref["step_logits"], rtol=0, atol=0)
    assert runs == [len(sess.get_outputs())] * 8
    assert len(got["step_ms"]) == 8 and all(ms > 0 for ms in got["step_ms"])
    assert len(bound._binding.get_outputs()) == 0  # the last cache is not held past the generation
