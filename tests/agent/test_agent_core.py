"""The on-device agent, run as a subprocess exactly as on a device: job.json in, result.json out."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.session.jobs import agent_source
from tests.helpers import tiny_mlp

AGENT = agent_source()


def run_agent(tmp_path: Path, *, from_stdin: bool = False, **overrides: object) -> tuple[int, dict]:
    model = tiny_mlp(tmp_path / "m.onnx")
    inputs = tmp_path / "in.npz"
    rng = np.random.default_rng(1)
    np.savez(inputs, **{"b1/x": rng.random((1, 64), dtype=np.float32), "b4/x": rng.random((4, 64), dtype=np.float32)})
    job = {
        "protocol": 1, "kind": "single", "models": {"model": str(model)}, "inputs": str(inputs), "params": {},
        "provider": "CPUExecutionProvider", "provider_options": {},
        "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
        "measure": {"warmup": 2, "warmup_s": 0.0, "min_iterations": 25, "min_seconds": 0.05, "max_seconds": 5},
        "out_dir": str(tmp_path / "out"),
    }
    job.update(overrides)
    (tmp_path / "job.json").write_text(json.dumps(job))
    job_path = str(tmp_path / "job.json")
    argv, stdin = ([sys.executable, str(AGENT), "--job-from-stdin"], job_path + "\n") if from_stdin else \
        ([sys.executable, str(AGENT), job_path], None)
    proc = subprocess.run(argv, input=stdin, capture_output=True, text=True)
    return proc.returncode, json.loads((tmp_path / "out" / "result.json").read_text())


def test_a_job_read_from_stdin_runs_as_one_named_in_argv(tmp_path: Path) -> None:
    rc, by_argv = run_agent(tmp_path / "argv")
    rc_stdin, by_stdin = run_agent(tmp_path / "stdin", from_stdin=True)
    assert rc == rc_stdin == 0 and by_stdin["status"] == "ok"
    assert set(by_stdin) == set(by_argv) and set(by_stdin["series"]) == set(by_argv["series"])
    assert by_stdin["env"]["pid"] != by_argv["env"]["pid"]


def test_stdin_closed_before_a_job_came_ends_quietly(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(AGENT), "--job-from-stdin"], input="", capture_output=True, text=True)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "ready\n", "")


def test_agent_is_python38_syntax_and_imports_nothing_from_harness() -> None:
    tree = ast.parse(AGENT.read_text(), feature_version=(3, 8))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    runtimes = {"ncnn", "MNN", "openvino", "ai_edge_litert", "tflite_runtime",  # each imported only when a job names it
                "onnxruntime_genai", "tensorrt", "cuda", "coremltools"}
    allowed = set(sys.stdlib_module_names) | {"numpy", "onnxruntime", "__future__"} | runtimes
    assert imported <= allowed, imported - allowed


def test_agent_needs_no_stdlib_api_newer_than_python38() -> None:
    """vermin knows when each stdlib member and syntax form appeared (str.removeprefix, dict |, ...):
    a stricter check than parsing with feature_version, which misses library calls."""
    proc = subprocess.run([str(Path(sys.executable).with_name("vermin")), "-t=3.8-", "--violations", "--no-tips", str(AGENT)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_measurement_protocol_fields(tmp_path: Path) -> None:
    rc, r = run_agent(tmp_path)
    assert rc == 0 and r["status"] == "ok", r.get("traceback")
    assert set(r["series"]) == {"latency_ms@b1", "latency_ms@b4"}
    s = r["series"]["latency_ms@b1"]
    assert len(s["samples"]) >= 25 and s["warmup_n"] >= 2 and s["stopped_by"] == "min_iterations+min_seconds"
    assert r["load_ms"]["model"] > 0 and set(r["first_inference_ms"]) == {"b1", "b4"}
    assert r["memory"]["method"] == "VmHWM (measured session only)"
    assert r["memory"]["peak_rss_mb"] > r["memory"]["baseline_rss_mb"] > 0
    load = r["load"]
    assert len(load["loadavg_before"]) == 3 and load["cpu_count"] >= 1 and load["error"] is None
    assert set(load["windows"]) == set(r["series"])
    for w in load["windows"].values():
        assert w["wall_s"] > 0 and w["busy_s"] >= 0 and w["self_s"] > 0
    prov = r["providers"]
    assert prov["used"] == "CPUExecutionProvider" and prov["fallback"] is False
    # the CPU EP alone: every node runs on it, no second (profiled) session is paid for
    assert prov["placement"] == {} and prov["placement_method"] == "single provider"
    assert prov["requested_fraction"] == 1.0
    assert r["session"]["intra_op_num_threads"] == 1
    assert r["env"]["onnxruntime"] and r["measure_s"] > 0
    with np.load(tmp_path / "out" / "outputs.npz") as z:
        assert z["b4/y"].shape == (4, 10)
    assert not list((tmp_path / "out").glob("ort_profile*")), "profiling files must be cleaned up"


def test_max_seconds_bounds_the_window(tmp_path: Path) -> None:
    rc, r = run_agent(tmp_path, measure={"warmup": 0, "warmup_s": 0, "min_iterations": 10**9, "min_seconds": 0,
                                         "max_seconds": 0.2})
    assert rc == 0
    assert r["series"]["latency_ms@b1"]["stopped_by"] == "max_seconds"


def test_a_model_that_fails_to_load_is_a_failed_result_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "broken.onnx").write_bytes(b"not an onnx file")
    rc, r = run_agent(tmp_path, models={"model": str(tmp_path / "broken.onnx")})
    assert rc == 1 and r["status"] == "failed"
    assert "broken.onnx" in r["error"] or "Protobuf" in r["error"] or "INVALID" in r["error"]


def test_unavailable_ep_is_flagged_as_fallback(tmp_path: Path) -> None:
    rc, r = run_agent(tmp_path, provider="QNNExecutionProvider")
    if rc == 1:  # ORT may refuse an EP it was not built with: the failure is data, with the reason
        assert "QNN" in r["error"]
    else:
        assert r["providers"]["fallback"] is True and r["providers"]["used"] == "CPUExecutionProvider"


def test_an_ep_with_a_cpu_fallback_is_profiled_for_its_node_placement(tmp_path: Path) -> None:
    rc, r = run_agent(tmp_path, provider="AzureExecutionProvider")  # in every wheel; runs no ONNX node itself
    assert rc == 0, r.get("traceback")
    prov = r["providers"]
    assert prov["placement_method"] == "profiled run" and prov["placement"]["CPUExecutionProvider"]["nodes"] >= 2
    assert prov["fallback"] is True and prov["used"] == "CPUExecutionProvider" and prov["requested_fraction"] == 0.0
    assert not list((tmp_path / "out").glob("ort_profile*")), "profiling files must be cleaned up"


def test_probe_mode_reports_environment() -> None:
    proc = subprocess.run([sys.executable, str(AGENT), "--probe"], capture_output=True, text=True)
    assert proc.returncode == 0
    facts = json.loads(proc.stdout)
    assert facts["numpy"] and facts["onnxruntime"]


@pytest.mark.parametrize("slowdown", [0.5])
def test_test_slowdown_knob_slows_each_iteration(tmp_path: Path, slowdown: float) -> None:
    _, base = run_agent(tmp_path / "a")
    _, slow = run_agent(tmp_path / "b", test_slowdown=slowdown)
    a = np.median(base["series"]["latency_ms@b4"]["samples"])
    b = np.median(slow["series"]["latency_ms@b4"]["samples"])
    assert b > a * 1.2  # sleep-based: robust to noise at +50 %
