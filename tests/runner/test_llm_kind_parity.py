"""The job kind llm on an ONNX decoder: the native runner and the Python agent give the same
llama-bench series (pp/tg tok/s per KV depth, ttft at depth 0) from the same ids, say the same
about a test past the model's context, and name how the KV cache travels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from harness.builds.onnx_llm_quality import greedy_tokens
from harness.builds.runner import RunnerBuild
from harness.builds.text_lm import build_text_lm
from harness.protocol import Job, parse_result
from tests.runner.jobs import FAST, LM, agent_argv, run

pytestmark = pytest.mark.slow  # the native runner is built once per session (cached by source)

PARAMS = {"pp": [8], "tg": [4], "depths": [0, 8], "ids": list(range(3, 40))}


@pytest.fixture(scope="module")
def decoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("llm-kind") / "lm.onnx"
    path.write_bytes(build_text_lm(LM, seed=2).SerializeToString())
    return path


def _job(model: Path, out: Path, **params: Any) -> dict[str, Any]:
    return {"protocol": 1, "kind": "llm", "models": {"model": str(model)}, "inputs": None,
            "params": {**PARAMS, **params}, "measure": FAST, "out_dir": str(out),
            "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1}}


def test_native_and_agent_give_the_same_llm_series(x86_runner: RunnerBuild, decoder: Path, tmp_path: Path) -> None:
    runners = {"native": ["sh", str(x86_runner.path / "run.sh")], "agent": agent_argv()}
    got = {}
    for name, argv in runners.items():
        job = _job(decoder, tmp_path / name)
        ran = run(argv, job)
        assert ran.result is not None, ran.stderr[-2000:]
        result = parse_result(ran.result, Job.model_validate(job))
        assert result.status == "ok", result.error
        got[name] = result
    assert set(got["native"].series) == set(got["agent"].series) == {"pp8@d0", "pp8@d8", "tg4@d0", "tg4@d8",
                                                                    "ttft8_ms"}
    for name, result in got.items():
        assert all(s.unit == "tok/s" and min(s.samples) > 0 for k, s in result.series.items() if "@" in k), name
        assert result.series["ttft8_ms"].unit == "ms"
    assert got["native"].session["kv_cache"] == "native" and got["agent"].session["kv_cache"] == "direct"


def test_native_and_agent_greedy_tokens_equal_the_hosts_ort_loop(x86_runner: RunnerBuild, decoder: Path,
                                                                 tmp_path: Path) -> None:
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    ids = np.asarray(PARAMS["ids"], np.int64)
    host = greedy_tokens(ort.InferenceSession(str(decoder), so, providers=["CPUExecutionProvider"]), ids[:20], 6)
    for name, argv in {"native": ["sh", str(x86_runner.path / "run.sh")], "agent": agent_argv()}.items():
        ran = run(argv, _job(decoder, tmp_path / name, greedy=6, greedy_prompt=20))
        assert ran.result is not None and ran.result["status"] == "ok", (name, ran.stderr[-2000:])
        tokens = ran.outputs["greedy_tokens"]
        assert tokens.dtype == np.int32 and tokens.tolist() == host.tolist(), name
    none = run(agent_argv(), _job(decoder, tmp_path / "no-greedy"))
    assert none.result is not None and not none.result.get("outputs")  # no params.greedy: nothing saved


def test_a_test_past_the_context_is_skipped_and_said(x86_runner: RunnerBuild, decoder: Path, tmp_path: Path) -> None:
    for name, argv in {"native": ["sh", str(x86_runner.path / "run.sh")], "agent": agent_argv()}.items():
        job = _job(decoder, tmp_path / name, n_ctx=12)
        ran = run(argv, job)
        assert ran.result is not None and ran.result["status"] == "ok", (name, ran.stderr[-2000:])
        assert set(ran.result["series"]) == {"pp8@d0", "tg4@d0", "tg4@d8", "ttft8_ms"}, name
        assert ran.result["session"]["skipped"] == "pp8@d8: past the model's context (12)", name
