"""The agent's peak memory is the measured session's alone, its load readings see other
processes, and a fed-back state really flows from step to step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest

from harness.agent import agent
from harness.analysis.flags import CONTENTION, CONTENTION_CORES
from harness.probes import contention
from harness.session.jobs import agent_source
from tests.helpers import tiny_mlp
from tests.odd_models import stateful_vad

FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 20, "min_seconds": 0.05, "max_seconds": 2.0}


def _job(tmp_path: Path, model: Path, arrays: dict[str, np.ndarray], **extra: Any) -> dict[str, Any]:
    np.savez(tmp_path / "in.npz", **arrays)
    job = {"protocol": 1, "kind": "single", "models": {"model": str(model)}, "inputs": str(tmp_path / "in.npz"),
           "params": {}, "provider": "CPUExecutionProvider", "provider_options": {},
           "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1}, "measure": FAST,
           "out_dir": str(tmp_path / "out"), "save_outputs": False}
    job.update(extra)
    return job


def _agent_subprocess(tmp_path: Path, job: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "job.json").write_text(json.dumps(job))
    subprocess.run([sys.executable, str(agent_source()), str(tmp_path / "job.json")], check=True, capture_output=True)
    return json.loads((tmp_path / "out" / "result.json").read_text())


def test_peak_is_read_before_the_placement_session_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    order: list[str] = []
    peak, place = agent.peak_memory, agent.ep_placement
    monkeypatch.setattr(agent, "peak_memory", lambda: (order.append("peak"), peak())[1])
    monkeypatch.setattr(agent, "ep_placement", lambda *a, **k: (order.append("placement"), place(*a, **k))[1])
    job = _job(tmp_path, tiny_mlp(tmp_path / "m.onnx"), {"/x": np.ones((1, 64), np.float32)})
    # an EP with a CPU fallback, so the placement session is really made (the CPU EP alone needs none)
    result = agent.run_job(dict(job, provider="AzureExecutionProvider"))
    assert result["status"] == "ok", result["traceback"]
    assert order == ["peak", "placement"]
    assert result["memory"]["method"] == "VmHWM (measured session only)"
    assert result["providers"]["placement"]["CPUExecutionProvider"]["nodes"] == 3


INDEPENDENT_LOOP = """
import sys, numpy as np, onnxruntime as ort
def status(key):
    return [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key)][0] / 1024.0
feeds = {"x": np.load(sys.argv[2])["/x"]}
before = status("VmRSS:")
so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
sess = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
for _ in range(30):
    sess.run(None, feeds)
print(status("VmHWM:"), before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_peak_matches_one_session_in_a_fresh_process(tmp_path: Path) -> None:
    """32 MB of weights: a second session next to the timed one would add them again (+80 % of what
    the session adds). Compared is what the session adds to each process (peak over the RSS just
    before it): the whole peaks also hold each process's own baseline, and the agent's (its source
    compiled, the job's bookkeeping) is a few MB above a bare loop's on some hosts (52 vs 47 MB)."""
    model = tiny_mlp(tmp_path / "m.onnx", width=2048)
    job = _job(tmp_path, model, {"/x": np.ones((8, 2048), np.float32)})
    result = _agent_subprocess(tmp_path, job)
    peak, before = map(float, subprocess.run([sys.executable, "-c", INDEPENDENT_LOOP, str(model),
                                              str(tmp_path / "in.npz")],
                                             check=True, capture_output=True, text=True).stdout.split())
    memory = result["memory"]
    ratio = (memory["peak_rss_mb"] - memory["baseline_rss_mb"]) / (peak - before)
    assert 0.9 < ratio < 1.1, (memory, peak, before)
    assert 0.8 < memory["peak_rss_mb"] / peak < 1.2, (memory, peak)  # and the whole peaks are alike


def test_another_process_busy_on_a_core_is_contention(tmp_path: Path) -> None:
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it get going
        job = _job(tmp_path, tiny_mlp(tmp_path / "m.onnx"), {"/x": np.ones((1, 64), np.float32)},
                   measure=dict(FAST, min_seconds=0.6))
        result = _agent_subprocess(tmp_path, job)
    finally:
        hog.kill()
        hog.wait()
    window = result["load"]["windows"]["latency_ms"]
    assert window["self_s"] > 0 and window["busy_s"] >= window["self_s"] - 0.05, window
    found = contention.interpret(result)
    assert found.cores is not None and found.cores > CONTENTION_CORES, result["load"]
    assert found.flag is not None and found.flag.code == CONTENTION
    assert {m.name: m.unit for m in found.metrics} == {"host_contention_cores": "cores", "host_loadavg_before": "",
                                                      "host_cpu_count": "cores"}
    assert "retries" not in result["load"]  # the job set no contention limit: nothing measured again


def test_a_window_under_contention_is_measured_again_and_the_quietest_kept(tmp_path: Path) -> None:
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)
        job = _job(tmp_path, tiny_mlp(tmp_path / "m.onnx"), {"/x": np.ones((1, 64), np.float32)},
                   measure=dict(FAST, min_seconds=0.3, contention_cores=CONTENTION_CORES, contention_retries=2))
        result = _agent_subprocess(tmp_path, job)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert result["status"] == "ok", result.get("traceback")
    assert result["load"]["retries"] == {"latency_ms": 2}, result["load"]  # busy all along: bounded
    found = contention.interpret(result)
    assert found.retries == 2 and found.flag is not None and "measured again" in found.flag.message
    assert {m.name: m.value for m in found.metrics}["host_contention_retries"] == 2.0
    assert len(result["series"]["latency_ms"]["samples"]) >= 20  # one window's samples, not three


def test_a_quiet_window_is_measured_once(tmp_path: Path) -> None:
    job = _job(tmp_path, tiny_mlp(tmp_path / "m.onnx"), {"/x": np.ones((1, 64), np.float32)},
               measure=dict(FAST, contention_cores=64.0, contention_retries=2))  # a limit no host reaches
    result = _agent_subprocess(tmp_path, job)
    assert result["status"] == "ok" and "retries" not in result["load"], result["load"]


def test_state_is_fed_back_from_the_previous_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, dict[str, np.ndarray], list[np.ndarray]]] = []
    run = ort.InferenceSession.run

    def recording(self, names, feeds, *rest):  # type: ignore[no-untyped-def]
        outs = run(self, names, feeds, *rest)
        calls.append((id(self), {k: np.array(v) for k, v in feeds.items()}, [np.array(o) for o in outs]))
        return outs

    monkeypatch.setattr(ort.InferenceSession, "run", recording)
    arrays = {"/x": np.full((1, 64), 0.5, np.float32), "/state": np.zeros((1, 32), np.float32),
              "/sr": np.array(16000, np.int64)}
    job = _job(tmp_path, stateful_vad(tmp_path / "vad.onnx"), arrays, params={"feedback": {"state": "stateN"}})
    result = agent.run_job(job)
    assert result["status"] == "ok", result["traceback"]
    measured = [c for c in calls if c[0] == calls[0][0]]  # the timed session's calls, not the placement one's
    assert len(measured) >= 20
    assert not measured[0][1]["state"].any() and measured[1][1]["state"].any()
    for (_, _, outs), (_, feeds, _) in zip(measured, measured[1:]):
        np.testing.assert_array_equal(feeds["state"], outs[1])  # stateN is output 1


def test_feedback_naming_no_such_output_fails_the_cell_with_the_names(tmp_path: Path) -> None:
    arrays = {"/x": np.ones((1, 64), np.float32), "/state": np.zeros((1, 32), np.float32), "/sr": np.array(16000)}
    job = _job(tmp_path, stateful_vad(tmp_path / "vad.onnx"), arrays, params={"feedback": {"state": "state_out"}})
    result = agent.run_job(job)
    assert result["status"] == "failed"
    assert "output 'state_out', not an output of the model (['y', 'stateN'])" in result["error"]
