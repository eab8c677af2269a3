"""The x86_64 native runner against the Python agent on the same jobs (same ORT): every result
valid under protocol 1, outputs bit-identical, the same series, probes, snapshots and windows."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import TensorProto, helper

from harness.builds.runner import RunnerBuild
from harness.builds.runner.parts import host_ort_version
from harness.protocol import JOB_FROM_STDIN, Job, ProbeFacts, parse_result
from tests.runner.jobs import KINDS, KindCase, Ran, agent_argv, launcher, make_cases, make_job, run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KindCase]:
    return make_cases(tmp_path_factory.mktemp("kinds"))


def _probes(tmp: Path) -> list[dict[str, Any]]:
    return [
        {"name": "load", "kind": "file", "path": "/proc/loadavg", "interval_s": 0.05},
        {"name": "me", "kind": "command", "argv": ["echo", "{pid}"], "interval_s": 0.2},
        {"name": "ticks", "kind": "stream", "argv": ["sh", "-c", "while :; do echo tick; sleep 0.05; done"]},
        {"name": "gone", "kind": "file", "path": str(tmp / "missing"), "interval_s": 0.1},
    ]


@pytest.fixture(scope="module")
def pair(cases: dict[str, KindCase], x86_runner: RunnerBuild, tmp_path_factory: pytest.TempPathFactory
         ) -> dict[str, tuple[dict[str, Any], Ran, Ran]]:
    """kind -> (job, the Python agent's run, the native runner's run), same inputs and settings."""
    out: dict[str, tuple[dict[str, Any], Ran, Ran]] = {}
    tmp = tmp_path_factory.mktemp("parity")
    for kind in KINDS:
        extra = {"probes": _probes(tmp), "snapshots": {"load": "/proc/loadavg", "gone": str(tmp / "missing")},
                 "idle_s": 0.1}
        py_job = make_job(cases[kind], tmp / kind / "python", **extra)
        native_job = make_job(cases[kind], tmp / kind / "native", **extra)
        out[kind] = (native_job, run(agent_argv(), py_job), run(launcher(x86_runner), native_job))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_native_result_is_valid_and_mirrors_the_agent(kind: str, pair: dict[str, tuple[dict[str, Any], Ran, Ran]]
                                                      ) -> None:
    job, py, native = pair[kind]
    assert py.rc == 0 and native.rc == 0, (py.stderr, native.stderr, native.result)
    assert py.result and native.result
    result = parse_result(native.result, Job.model_validate(job))
    assert parse_result(py.result).status == "ok"  # both runners against the one protocol definition
    assert result.status == "ok" and result.env.onnxruntime == host_ort_version()
    assert str(result.env.runner).startswith("native ")
    # kv_cache: which path carried the KV cache and what a decode step's timing holds (the agent's
    # Python paths; "native-run" for the native runner's text generation, the Run call alone)
    py_session = {k: v for k, v in py.result["session"].items() if k != "kv_cache"}
    native_session = {k: v for k, v in native.result["session"].items() if k != "kv_cache"}
    if kind == "text-generation":
        assert native.result["session"]["kv_cache"] == "native-run"
    for field in ("series", "load_ms", "first_inference_ms", "windows"):
        assert set(native.result[field]) == set(py.result[field]), field
    assert native_session == py_session
    for name, s in native.result["series"].items():
        assert len(s["samples"]) >= 3 and s["unit"] == py.result["series"][name]["unit"]
        assert s["warmup_n"] >= 1
    assert native.result["providers"]["placement"] == {
        ep: {"nodes": p["nodes"], "time_us": native.result["providers"]["placement"][ep]["time_us"]}
        for ep, p in py.result["providers"]["placement"].items()
    }  # the same nodes on the same EP; kernel times are measurements
    assert {k: v for k, v in native.result["providers"].items() if k != "placement"} == {
        k: v for k, v in py.result["providers"].items() if k != "placement"}
    # peak memory of the measured session, read before the profiling session: no interpreter in it
    assert result.memory is not None and result.memory.method == py.result["memory"]["method"]
    assert result.memory.method.startswith("VmHWM")
    assert set(native.result["load"]) == set(py.result["load"])
    assert set(native.result["load"]["windows"]) == set(py.result["load"]["windows"]) == {
        name for name in py.result["windows"] if name != "idle" and name in native.result["windows"]}
    assert result.memory.peak_rss_mb < py.result["memory"]["peak_rss_mb"]
    assert native.result["measure_s"] > 0


@pytest.mark.parametrize("kind", KINDS)
def test_native_outputs_equal_the_agents(kind: str, pair: dict[str, tuple[dict[str, Any], Ran, Ran]]) -> None:
    _, py, native = pair[kind]
    assert py.outputs and set(native.outputs) == set(py.outputs)
    for key, want in py.outputs.items():
        got = native.outputs[key]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)


def test_probe_threads_snapshots_and_idle_window(pair: dict[str, tuple[dict[str, Any], Ran, Ran]]) -> None:
    _, py, native = pair["single"]
    assert native.result and py.result
    probes = native.result["probes"]
    assert set(probes) == set(py.result["probes"])
    assert probes["me"]["v"][0] == str(native.result["env"]["pid"])  # "{pid}" is the runner's own pid
    assert probes["ticks"]["v"] and set(probes["ticks"]["v"]) == {"tick"}
    assert len(probes["load"]["v"]) >= 2 and probes["load"]["error"] is None
    assert probes["gone"]["v"] == [] and probes["gone"]["error"] == py.result["probes"]["gone"]["error"]
    assert native.result["snapshots"] == {
        "before": {"load": native.result["snapshots"]["before"]["load"], "gone": None,
                   "gone.error": py.result["snapshots"]["before"]["gone.error"]},
        "after": {"load": native.result["snapshots"]["after"]["load"], "gone": None,
                  "gone.error": py.result["snapshots"]["after"]["gone.error"]},
    }
    t0, t1 = native.result["windows"]["idle"]
    assert t1 - t0 >= 0.1
    windows = sorted(native.result["windows"].values())
    assert windows[0] == [t0, t1]  # the idle window comes first, on the same clock as the probes
    assert probes["load"]["t"][0] <= t1


def test_probe_line_is_protocol_1(x86_runner: RunnerBuild) -> None:
    proc = subprocess.run([*launcher(x86_runner), "--probe"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    facts = ProbeFacts.model_validate_json(proc.stdout.strip().splitlines()[-1])
    assert facts.onnxruntime == host_ort_version() and "CPUExecutionProvider" in facts.providers
    extra = json.loads(proc.stdout)
    assert extra["smoke"] == "ok" and extra["target"] == "linux-x86_64" and facts.machine == "x86_64"


def test_a_failed_job_is_a_valid_failed_result(cases: dict[str, KindCase], x86_runner: RunnerBuild,
                                               tmp_path: Path) -> None:
    case = KindCase("single", {"model": str(tmp_path / "absent.onnx")}, cases["single"].inputs, {})
    ran = run(launcher(x86_runner), make_job(case, tmp_path / "out"))
    assert ran.rc == 1 and ran.result
    result = parse_result(ran.result)
    assert result.status == "failed" and "absent.onnx" in str(result.error)
    assert result.outputs is None and result.snapshots.after == {}


@pytest.mark.parametrize(("provider", "says"), [
    ("NnapiExecutionProvider", ["lacks NnapiExecutionProvider", "android-arm64"]),
    ("XnnpackExecutionProvider", ["lacks XnnpackExecutionProvider", "android-arm64"]),
    ("QNNExecutionProvider", ["lacks QNNExecutionProvider", "QNN"]),
    ("CUDAExecutionProvider", ["lacks CUDAExecutionProvider", "onnxruntime-gpu"]),
    ("FrobExecutionProvider", ["does not know execution provider 'FrobExecutionProvider'"]),
])
def test_an_ep_the_linked_ort_lacks_fails_clearly(provider: str, says: list[str], cases: dict[str, KindCase],
                                                  x86_runner: RunnerBuild, tmp_path: Path) -> None:
    ran = run(launcher(x86_runner), make_job(cases["single"], tmp_path / "out", provider=provider))
    assert ran.rc == 1 and ran.result and ran.result["status"] == "failed"
    for text in says:
        assert text in ran.result["error"], ran.result["error"]
    parse_result(ran.result)


def test_a_second_provider_is_placed_by_a_profiled_run_as_the_agent_does(
        cases: dict[str, KindCase], x86_runner: RunnerBuild, tmp_path: Path) -> None:
    """AzureExecutionProvider ships in every ORT wheel and runs nothing locally: the nodes fall back."""
    py = run(agent_argv(), make_job(cases["single"], tmp_path / "py", provider="AzureExecutionProvider"))
    native = run(launcher(x86_runner), make_job(cases["single"], tmp_path / "native", provider="AzureExecutionProvider"))
    assert py.result and native.result and native.result["status"] == "ok", native.result and native.result["error"]
    got, want = native.result["providers"], py.result["providers"]
    assert got["placement_method"] == want["placement_method"] == "profiled run"
    assert {ep: p["nodes"] for ep, p in got["placement"].items()} == {ep: p["nodes"] for ep, p in want["placement"].items()}
    for key in ("session", "used", "fallback", "requested_fraction"):
        assert got[key] == want[key], key
    assert got["fallback"] is True and got["used"] == "CPUExecutionProvider"


def test_a_job_of_another_runtime_is_refused_clearly(cases: dict[str, KindCase], x86_runner: RunnerBuild,
                                                    tmp_path: Path) -> None:
    """The native runner runs ONNX Runtime only: a job naming another runtime fails, saying where it runs."""
    job = {**make_job(cases["single"], tmp_path / "out"), "runtime": {"name": "ncnn", "options": {}}}
    ran = run(launcher(x86_runner), job)
    assert ran.rc == 1 and ran.result and ran.result["status"] == "failed"
    assert "runs onnxruntime only, not runtime 'ncnn'" in ran.result["error"] and "Python agent" in ran.result["error"]
    parse_result(ran.result)


def test_a_job_of_another_protocol_is_refused(cases: dict[str, KindCase], x86_runner: RunnerBuild,
                                              tmp_path: Path) -> None:
    ran = run(launcher(x86_runner), {**make_job(cases["single"], tmp_path / "out"), "protocol": 2})
    assert ran.rc == 2 and ran.result is None and "protocol 1" in ran.stderr


# ---------------------------------------------------------------------------- arrays in and out
DTYPES = {"float32": TensorProto.FLOAT, "float16": TensorProto.FLOAT16, "float64": TensorProto.DOUBLE,
          "int64": TensorProto.INT64, "int32": TensorProto.INT32, "int8": TensorProto.INT8,
          "uint8": TensorProto.UINT8, "bool": TensorProto.BOOL}


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Identity per dtype, any rank and shape (scalars included): outputs must equal inputs."""
    ins = [helper.make_tensor_value_info(f"in_{d}", t, None) for d, t in DTYPES.items()]
    outs = [helper.make_tensor_value_info(f"out_{d}", t, None) for d, t in DTYPES.items()]
    nodes = [helper.make_node("Identity", [f"in_{d}"], [f"out_{d}"]) for d in DTYPES]
    model = helper.make_model(helper.make_graph(nodes, "ids", ins, outs), opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = tmp_path_factory.mktemp("identity") / "identity.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def _arrays(dtype: str) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.dtype(dtype), hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sets=st.lists(st.fixed_dictionaries({d: _arrays(d) for d in DTYPES}), min_size=1, max_size=3))
def test_any_array_goes_through_unchanged(sets: list[dict[str, np.ndarray]], identity_model: Path,
                                          x86_runner: RunnerBuild, tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("arrays")
    arrays = {f"l{i}/in_{d}": a for i, s in enumerate(sets) for d, a in s.items()}
    np.savez(tmp / "in.npz", **arrays)
    case = KindCase("single", {"model": str(identity_model)}, str(tmp / "in.npz"), {})
    job = make_job(case, tmp / "out", measure={**make_job(case, tmp)["measure"], "min_iterations": 1,
                                               "warmup": 0})
    ran = run(launcher(x86_runner), job)
    assert ran.rc == 0, ran.result and ran.result["error"]
    for key, want in arrays.items():
        got = ran.outputs[key.replace("/in_", "/out_")]
        assert got.dtype == want.dtype and got.shape == want.shape, key
        np.testing.assert_array_equal(got, want, err_msg=key)


# ---------------------------------------------------------------------------- streaming state
@pytest.fixture(scope="module")
def stateful(tmp_path_factory: pytest.TempPathFactory) -> KindCase:
    """state_out = state + x, y = state_out * 2: a streaming model whose state the job feeds back."""
    tmp = tmp_path_factory.mktemp("stateful")
    f = TensorProto.FLOAT
    graph = helper.make_graph(
        [helper.make_node("Add", ["state", "x"], ["state_out"]), helper.make_node("Add", ["state_out", "state_out"], ["y"])],
        "stateful", [helper.make_tensor_value_info("x", f, [1, 4]), helper.make_tensor_value_info("state", f, [1, 4])],
        [helper.make_tensor_value_info("y", f, [1, 4]), helper.make_tensor_value_info("state_out", f, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    (tmp / "state.onnx").write_bytes(model.SerializeToString())
    np.savez(tmp / "in.npz", **{"/x": np.ones((1, 4), np.float32), "/state": np.zeros((1, 4), np.float32)})
    return KindCase("single", {"model": str(tmp / "state.onnx")}, str(tmp / "in.npz"), {})


@pytest.mark.parametrize("feedback", [{"state": "state_out"}, {"stat": "state_out"}, {"state": "nope"}])
def test_feedback_is_mirrored(feedback: dict[str, str], stateful: KindCase, x86_runner: RunnerBuild,
                              tmp_path: Path) -> None:
    case = KindCase("single", stateful.models, stateful.inputs, {"feedback": feedback})
    py = run(agent_argv(), make_job(case, tmp_path / "py"))
    native = run(launcher(x86_runner), make_job(case, tmp_path / "native"))
    assert py.result and native.result
    assert native.result["status"] == py.result["status"] and native.result["error"] == py.result["error"]
    parse_result(native.result, Job.model_validate(make_job(case, tmp_path / "native")))
    if py.result["status"] == "ok":
        assert set(native.result["load"]["windows"]) == set(py.result["load"]["windows"]) == {"latency_ms"}
        for key, want in py.outputs.items():
            np.testing.assert_array_equal(native.outputs[key], want)


@pytest.mark.parametrize("who", ["agent", "native"])
def test_both_runners_take_the_job_from_stdin(who: str, cases: dict[str, KindCase], x86_runner: RunnerBuild,
                                              tmp_path: Path) -> None:
    """Protocol 1's --job-from-stdin (the host's prestart): the same result as the job named in argv,
    and stdin closed before a job came ends the runner quietly."""
    argv = agent_argv() if who == "agent" else launcher(x86_runner)
    by_argv = run(argv, make_job(cases["single"], tmp_path / "argv"))
    by_stdin = run(argv, make_job(cases["single"], tmp_path / "stdin"), from_stdin=True)
    assert by_argv.rc == by_stdin.rc == 0, by_stdin.stderr
    assert by_stdin.result is not None and by_argv.result is not None
    assert parse_result(by_stdin.result).status == "ok"
    assert set(by_stdin.result["series"]) == set(by_argv.result["series"])
    assert set(by_stdin.outputs) == set(by_argv.outputs)
    assert all(np.array_equal(by_stdin.outputs[k], by_argv.outputs[k]) for k in by_argv.outputs)
    quiet = subprocess.run([*argv, JOB_FROM_STDIN], input="", capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stdout == "ready\n"
