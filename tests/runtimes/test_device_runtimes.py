"""TensorRT, Core ML, QNN and NNAPI: the seam's code paths for runtimes that cannot run on this host.

Host side: each module's honest precision map, its conversion settings and refusals. Device side:
the real agent, run as a subprocess exactly as on a device, against protocol-faithful fakes of the
runtimes' Python APIs (tests/runtimes/fakes/README.md says which API shapes each follows) that
compute the model's outputs with ONNX Runtime's CPU provider; and, on this host as it is, the
agent's probe and a `harness run` on local skipping every such cell with the probe's reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import yaml
from pydantic import ValidationError

from harness.config.models import Backend
from harness.protocol import ProbeFacts
from harness.runtimes.base import CannotMake, IoMap, ModelInfo
from harness.runtimes.coreml import NEEDS, zip_folder
from harness.runtimes.registry import get_runtime
from harness.session.jobs import agent_source
from tests.helpers import tiny_mlp

AGENT = agent_source()
FAKES = Path(__file__).resolve().parent / "fakes"
REPO = Path(__file__).resolve().parents[2]
DEVICE_ONLY = ("tensorrt", "coreml", "qnn", "nnapi")


def _model(tmp_path: Path) -> ModelInfo:
    path = tiny_mlp(tmp_path / "m.onnx")
    return ModelInfo(path=path, inputs={"x": (1, 64)}, outputs=["y"], extra_shapes={"x": [(4, 64)]})


def _feeds(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    feeds = {"b1/x": rng.random((1, 64), dtype=np.float32), "b4/x": rng.random((4, 64), dtype=np.float32)}
    np.savez(tmp_path / "in.npz", **feeds)
    return tmp_path / "in.npz", feeds


def run_agent(tmp_path: Path, runtime: str, precision: str, files: dict[str, Path], fake: str | None,
              options: dict | None = None, env: dict[str, str] | None = None, out: str = "out",
              settings_over: dict | None = None) -> tuple[dict, list[dict], dict[str, np.ndarray]]:
    """Convert with the host module, run one job through the real agent (fakes first on PYTHONPATH);
    (result, the fakes' log, the outputs saved)."""
    model = _model(tmp_path)
    if runtime == "coreml":  # its conversion needs torch (not here): the test gives the package
        settings, io = {}, IoMap.identity(["x"], ["y"])
    else:
        made = get_runtime(runtime).convert(model, precision, tmp_path / "conv")
        settings, io, files = dict(made.settings), made.io, files or made.files
    settings.update(settings_over or {})
    inputs, _ = _feeds(tmp_path)
    log = tmp_path / f"{out}.log"
    job = {
        "protocol": 1, "kind": "single", "models": {k: str(v) for k, v in files.items()},
        "inputs": str(inputs), "params": {}, "provider": "CPUExecutionProvider", "provider_options": {},
        "runtime": {"name": runtime, "options": options or {}, "settings": settings, "io": io.to_json()},
        "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
        "measure": {"warmup": 1, "warmup_s": 0.0, "min_iterations": 5, "min_seconds": 0.01, "max_seconds": 2},
        "out_dir": str(tmp_path / out),
    }
    (tmp_path / f"{out}.json").write_text(json.dumps(job))
    run_env = {**os.environ, "FAKE_LOG": str(log), **(env or {})}
    if fake:
        run_env["PYTHONPATH"] = os.pathsep.join([str(FAKES / fake) if fake == "ort_ep" else str(FAKES),
                                                 run_env.get("PYTHONPATH", "")])
    subprocess.run([sys.executable, str(AGENT), str(tmp_path / f"{out}.json")], env=run_env, capture_output=True,
                   text=True, timeout=300)
    result = json.loads((tmp_path / out / "result.json").read_text())
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    saved = dict(np.load(tmp_path / out / "outputs.npz")) if result.get("outputs") else {}
    return result, calls, saved


def _reference(tmp_path: Path) -> dict[str, np.ndarray]:
    _, feeds = _feeds(tmp_path)
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    return {f"{key.split('/')[0]}/y": sess.run(None, {"x": arr})[0] for key, arr in feeds.items()}


def _same_outputs(tmp_path: Path, saved: dict[str, np.ndarray]) -> None:
    ref = _reference(tmp_path)
    assert set(saved) == set(ref)
    for key, value in ref.items():
        np.testing.assert_allclose(saved[key], value, rtol=1e-6, atol=1e-7)


# ---------------------------------------------------------------------------- host side
@pytest.mark.parametrize("runtime, precision, words", [
    ("tensorrt", "int8", ["no dynamic quantization", "int8-static", "calibration data"]),
    ("tensorrt", "int4", ["MatMulNBits"]),
    ("qnn", "int8", ["int8-static", "QDQ"]),
    ("nnapi", "fp16", ["NNAPI_FLAG_USE_FP16", "flags 0"]),
    ("coreml", "int8-static", ["not wired"]),
])
def test_a_precision_a_device_runtime_cannot_make_says_why(runtime: str, precision: str, words: list[str]) -> None:
    why = get_runtime(runtime).cannot_make(precision)
    assert why is not None and why.startswith(f"{runtime} cannot make {precision}: ")
    assert all(w in why for w in words), why


def test_precision_maps_say_what_the_device_makes_of_them() -> None:
    trt, qnn = get_runtime("tensorrt"), get_runtime("qnn")
    assert "keeps a layer fp32" in trt.precisions["fp16"] and "TF32" in trt.precisions["fp32"]
    assert "calibration data" in trt.precisions["int8-static"]
    assert "no fp32 arithmetic" in qnn.precisions["fp32"] or "in fp16" in qnn.precisions["fp32"]
    assert {p: trt.source_precision(p) for p in ("fp32", "fp16", "int8-static")} == {
        "fp32": "fp32", "fp16": "fp32", "int8-static": "int8-static"}
    assert get_runtime("nnapi").source_precision("int8-static") == "int8-static"


def test_tensorrt_conversion_is_the_engine_builds_flags_and_shape_profile(tmp_path: Path) -> None:
    model = _model(tmp_path)
    fp16 = get_runtime("tensorrt").convert(model, "fp16", tmp_path / "c")
    assert fp16.files == {"model": model.path}  # the engine is built on the device, from the build's ONNX
    assert dict(fp16.settings) == {"flags": "--fp16", "min_shapes": "x:1x64", "opt_shapes": "x:1x64",
                                   "max_shapes": "x:4x64"}
    assert get_runtime("tensorrt").convert(model, "fp32", tmp_path / "c").settings["flags"] == "--noTF32"
    ragged = ModelInfo(path=model.path, inputs={"x": (1, 64)}, outputs=["y"], extra_shapes={"x": [(4, 8, 8)]})
    with pytest.raises(CannotMake, match="changes rank"):
        get_runtime("tensorrt").convert(ragged, "fp32", tmp_path / "c")


def test_qnn_asks_the_htp_for_fp16_where_the_graph_is_float(tmp_path: Path) -> None:
    model = _model(tmp_path)
    qnn = get_runtime("qnn")
    assert qnn.convert(model, "fp32", tmp_path / "c").settings == {"enable_htp_fp16_precision": "1"}
    assert qnn.convert(model, "int8-static", tmp_path / "c").settings == {}


@pytest.mark.parametrize("data, error", [
    ({"runtime": "tensorrt", "options": {"builder": "onnx2trt"}}, "builder is 'python' or 'trtexec'"),
    ({"runtime": "coreml", "options": {"compute_units": "GPU"}}, "compute_units is one of"),
    ({"runtime": "qnn", "options": {"backend": "htp"}}, "runtime qnn takes options"),
    ({"runtime": "nnapi", "options": {"use_fp16": True}}, "runtime nnapi takes options"),
])
def test_a_backend_of_a_device_runtime_names_its_bad_option(data: dict, error: str) -> None:
    with pytest.raises(ValidationError, match=error):
        Backend.model_validate({"name": "b", **data})


def test_qnn_and_nnapi_backends_take_their_providers_options() -> None:
    be = Backend.model_validate({"name": "htp", "runtime": "qnn", "options": {
        "backend_path": "libQnnHtp.so", "htp_performance_mode": "burst", "disable_cpu_ep_fallback": True}})
    assert be.options["backend_path"] == "libQnnHtp.so"
    Backend.model_validate({"name": "nn", "runtime": "nnapi", "options": {"partitioning_stop_ops": "Softmax"}})


@pytest.mark.skipif(all(__import__("importlib.util").util.find_spec(m) for m in NEEDS),
                    reason="this host has coremltools, onnx2torch and torch")
def test_coreml_without_its_converter_is_skipped_naming_the_extra() -> None:
    why = get_runtime("coreml").converter_missing()
    assert why is not None and "pip install 'harness[coreml]'" in why and "not ONNX" in why


def test_an_mlpackage_zip_is_the_same_bytes_for_the_same_folder(tmp_path: Path) -> None:
    pkg = tmp_path / "model.mlpackage"
    (pkg / "Data").mkdir(parents=True)
    (pkg / "Manifest.json").write_text("{}")
    (pkg / "Data" / "w.bin").write_bytes(b"\x01\x02")
    one = zip_folder(pkg, tmp_path / "a.zip").read_bytes()
    os.utime(pkg / "Manifest.json", (1, 1))
    assert zip_folder(pkg, tmp_path / "b.zip").read_bytes() == one
    assert zipfile.ZipFile(tmp_path / "a.zip").namelist() == ["model.mlpackage/Data/w.bin",
                                                              "model.mlpackage/Manifest.json"]


@pytest.mark.slow
@pytest.mark.skipif(get_runtime("coreml").converter_missing() is not None,
                    reason="needs pip install 'harness[coreml]' (torch); CI does not install it")
def test_coreml_converts_with_fp32_io_and_each_precisions_program(tmp_path: Path) -> None:
    """The real converter (coremltools reads its own package back on Linux; predict needs macOS)."""
    import coremltools as ct

    model = _model(tmp_path)
    for precision, fp16_ops, int8_weights in (("fp32", False, False), ("fp16", True, False), ("int8", True, True)):
        made = get_runtime("coreml").convert(model, precision, tmp_path / precision)
        zipfile.ZipFile(made.files["model"]).extractall(tmp_path / f"{precision}-x")
        spec = ct.models.MLModel(str(tmp_path / f"{precision}-x" / "model.mlpackage"), skip_model_load=True).get_spec()
        fp32 = ct.proto.FeatureTypes_pb2.ArrayFeatureType.FLOAT32
        assert [(i.name, i.type.multiArrayType.dataType) for i in spec.description.input] == [("x", fp32)]
        assert [(o.name, o.type.multiArrayType.dataType) for o in spec.description.output] == [("y", fp32)]
        shapes = [list(s.shape) for s in spec.description.input[0].type.multiArrayType.enumeratedShapes.shapes]
        assert shapes == [[1, 64], [4, 64]]
        program = str(spec.mlProgram)
        assert ("FLOAT16" in program) == fp16_ops and ("constexpr" in program) == int8_weights, precision


# ---------------------------------------------------------------------------- this host: refusals
def test_the_probe_says_why_each_device_runtime_is_missing_here() -> None:
    proc = subprocess.run([sys.executable, str(AGENT), "--probe"], capture_output=True, text=True, timeout=120)
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    ProbeFacts.model_validate(facts)
    missing = facts["runtimes_missing"]
    assert not set(DEVICE_ONLY) & set(facts["runtimes"])
    assert "no TensorRT Python module" in missing["tensorrt"] or "no NVIDIA GPU" in missing["tensorrt"]
    assert missing["coreml"].startswith("Core ML runs on macOS only (this device is Linux")
    assert "has no QNNExecutionProvider" in missing["qnn"] and "libQnnHtp.so" in missing["qnn"]
    assert "has no NnapiExecutionProvider" in missing["nnapi"]
    assert set(facts["runtime_details"]["tensorrt"]) == {"trtexec", "gpu"}


def test_a_device_without_the_runtime_skips_with_the_probes_reason() -> None:
    from harness.config.models import DeviceProfile
    from harness.session.runtime_cells import runtime_missing

    prof = DeviceProfile.model_validate({"name": "phone", "backends": [{"name": "q", "runtime": "qnn"}]})
    why = runtime_missing(prof, {"runtimes": {"onnxruntime": "1.32.0"},
                                 "runtimes_missing": {"qnn": "onnxruntime 1.32.0 here has no QNNExecutionProvider"}},
                          "qnn")
    assert why == ("device phone: the runner has no qnn: onnxruntime 1.32.0 here has no QNNExecutionProvider "
                   "(its --probe lists runtimes: onnxruntime 1.32.0); install it there (see README, Runtimes)")


def test_qnn_on_an_onnxruntime_without_it_fails_the_job_never_runs_on_cpu(tmp_path: Path) -> None:
    result, _, saved = run_agent(tmp_path, "qnn", "fp32", {}, fake=None)
    assert result["status"] == "failed" and not result["series"] and not saved
    assert "has no QNNExecutionProvider" in result["error"] and "not run on the CPU provider" in result["error"]


# ---------------------------------------------------------------------------- device side, against fakes
def test_tensorrt_builds_once_caches_the_engine_and_measures_like_any_runtime(tmp_path: Path) -> None:
    result, calls, saved = run_agent(tmp_path, "tensorrt", "fp16", {}, fake="tensorrt")
    assert result["status"] == "ok", result["traceback"]
    built = [c for c in calls if c["call"] == "build_serialized_network"]
    assert len(built) == 1 and built[0]["flags"] == ["FP16", "TF32"]
    assert built[0]["profiles"] == [{"x": [[1, 64], [1, 64], [4, 64]]}]
    assert set(result["load_ms"]) == {"model", "engine_build"}
    assert result["session"]["engine_cached"] is False and result["session"]["gpu"] == "NVIDIA Fake Orin (fake)"
    assert result["providers"]["used"] == "tensorrt:GPU 0: NVIDIA Fake Orin (fake)"
    assert {s: len(v["samples"]) >= 5 for s, v in result["series"].items()} == {"latency_ms@b1": True,
                                                                                  "latency_ms@b4": True}
    assert result["env"]["runtimes"] == {"tensorrt": "10.3.0"}
    _same_outputs(tmp_path, saved)
    again, calls, _ = run_agent(tmp_path, "tensorrt", "fp16", {}, fake="tensorrt", out="again")
    assert again["status"] == "ok" and again["session"]["engine_cached"] is True
    assert "engine_build" not in again["load_ms"] and not any(c["call"] == "build_serialized_network" for c in calls)


def test_tensorrt_fp32_turns_tf32_off_and_a_parser_refusal_is_the_cells_error(tmp_path: Path) -> None:
    result, calls, _ = run_agent(tmp_path, "tensorrt", "fp32", {}, fake="tensorrt", options={"workspace_mb": 64})
    assert result["status"] == "ok", result["traceback"]
    built = next(c for c in calls if c["call"] == "build_serialized_network")
    assert built["flags"] == [] and built["pools"] == {"0": 64 << 20}
    from onnx import TensorProto, helper

    odd = helper.make_model(helper.make_graph(
        [helper.make_node("MatMulNBits", ["x"], ["y"], domain="com.microsoft")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])]))
    (tmp_path / "odd.onnx").write_bytes(odd.SerializeToString())
    failed, _, _ = run_agent(tmp_path, "tensorrt", "fp32", {"model": tmp_path / "odd.onnx"}, fake="tensorrt",
                             out="odd")
    assert failed["status"] == "failed"
    assert "TensorRT's ONNX parser refused" in failed["error"] and "MatMulNBits" in failed["error"]


def test_a_feed_outside_the_engines_shape_profile_fails_naming_it(tmp_path: Path) -> None:
    result, _, _ = run_agent(tmp_path, "tensorrt", "fp32", {}, fake="tensorrt", settings_over={"max_shapes": "x:2x64"})
    assert result["status"] == "failed"
    assert "TensorRT refused shape (4, 64) for input x (outside the engine's profile x:1x64..x:2x64)" in result["error"]


def test_tensorrt_builds_with_trtexec_when_the_backend_says_so(tmp_path: Path) -> None:
    result, calls, saved = run_agent(tmp_path, "tensorrt", "int8-static", {}, fake="tensorrt",
                                     options={"builder": "trtexec", "trtexec": str(FAKES / "bin" / "trtexec")})
    assert result["status"] == "ok", result["traceback"]
    argv = next(c["argv"] for c in calls if c["call"] == "trtexec")
    assert argv[2:] == ["--skipInference", "--int8", "--maxShapes=x:4x64", "--minShapes=x:1x64",
                        "--optShapes=x:1x64"] and argv[0] == f"--onnx={tmp_path / 'm.onnx'}"
    assert next(c["flags"] for c in calls if c["call"] == "deserialize_cuda_engine") == ["INT8", "TF32"]
    assert result["session"]["builder"] == "trtexec" and "engine_build" in result["load_ms"]
    _same_outputs(tmp_path, saved)


def test_the_probe_lists_tensorrt_only_beside_cuda_python_and_a_gpu() -> None:
    def probe(path: str) -> dict:
        env = {**os.environ, "PYTHONPATH": str(FAKES), "PATH": path}
        proc = subprocess.run([sys.executable, str(AGENT), "--probe"], capture_output=True, text=True, env=env,
                              timeout=120)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    no_gpu = probe(os.path.dirname(sys.executable))
    assert "tensorrt" not in no_gpu["runtimes"]
    assert no_gpu["runtimes_missing"]["tensorrt"].startswith("TensorRT 10.3.0 here but no NVIDIA GPU")
    gpu = probe(os.pathsep.join([str(FAKES / "bin"), os.path.dirname(sys.executable)]))
    assert gpu["runtimes"]["tensorrt"] == "10.3.0" and "tensorrt" not in gpu.get("runtimes_missing", {})
    assert gpu["runtime_details"]["tensorrt"] == {"trtexec": str(FAKES / "bin" / "trtexec"),
                                                  "gpu": "NVIDIA Fake Orin (fake)"}


def test_coreml_unpacks_the_package_and_predicts_with_its_compute_units(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg" / "model.mlpackage"
    (pkg / "Data").mkdir(parents=True)
    (pkg / "Manifest.json").write_text("{}")
    (pkg / "Data" / "model.onnx").write_bytes(tiny_mlp(tmp_path / "m.onnx").read_bytes())
    zipped = zip_folder(pkg, tmp_path / "model.mlpackage.zip")
    result, calls, saved = run_agent(tmp_path, "coreml", "fp16", {"model": zipped}, fake="coremltools",
                                     options={"compute_units": "CPU_AND_NE"})
    assert result["status"] == "ok", result["traceback"]
    assert [c["compute_units"] for c in calls] == ["CPU_AND_NE"]
    assert set(result["load_ms"]) == {"model", "unpack"} and result["session"] == {"compute_units": "CPU_AND_NE"}
    assert result["providers"]["used"] == "coreml:CPU_AND_NE" and result["env"]["runtimes"] == {"coreml": "9.0"}
    _same_outputs(tmp_path, saved)


@pytest.mark.parametrize("runtime, ep, options, want_options, want_configs", [
    ("qnn", "QNNExecutionProvider", {"htp_performance_mode": "burst"},
     {"backend_path": "libQnnHtp.so", "htp_performance_mode": "burst", "enable_htp_fp16_precision": "1"}, {}),
    ("nnapi", "NnapiExecutionProvider", {"partitioning_stop_ops": "Softmax", "disable_cpu_ep_fallback": True},
     {}, {"session.disable_cpu_ep_fallback": "1", "ep.nnapi.partitioning_stop_ops": "Softmax"}),
])
def test_an_ort_provider_runtime_requests_its_provider_with_its_options(
        tmp_path: Path, runtime: str, ep: str, options: dict, want_options: dict, want_configs: dict) -> None:
    result, calls, saved = run_agent(tmp_path, runtime, "fp32", {}, fake="ort_ep", options=options,
                                     env={"FAKE_EP": ep})
    assert result["status"] == "ok", result["traceback"]
    sessions = [c for c in calls if c["call"] == "InferenceSession"]
    fallback = [] if options.get("disable_cpu_ep_fallback") else ["CPUExecutionProvider"]
    assert len(sessions) == 1 and sessions[0]["providers"] == [ep, *fallback]
    assert sessions[0]["options"][0] == want_options and sessions[0]["configs"] == want_configs
    assert sessions[0]["threads"] == 1
    assert result["session"]["session_providers"] == ",".join([ep, *fallback])
    assert result["providers"]["used"] == f"{runtime}:{ep}"
    _same_outputs(tmp_path, saved)


def test_a_session_that_did_not_take_the_provider_fails_rather_than_run_on_cpu(tmp_path: Path) -> None:
    result, _, saved = run_agent(tmp_path, "qnn", "fp32", {}, fake="ort_ep",
                                 env={"FAKE_EP": "QNNExecutionProvider", "FAKE_EP_REFUSES": "1"})
    assert result["status"] == "failed" and not saved
    assert "did not register QNNExecutionProvider" in result["error"]


# ---------------------------------------------------------------------------- harness run on local
@pytest.mark.slow
def test_harness_run_on_local_skips_each_device_runtime_with_its_reason(tmp_path: Path) -> None:
    from harness.results.store import Store

    workload = {"name": "tiny", "kind": "image-classification",
                "model": {"builtin": "image-resnet", "options": {"image": 16, "widths": [4], "classes": 4}},
                "batch_sizes": [1], "precisions": ["fp32", "fp16", "int8"],
                "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 3, "min_seconds": 0.01, "max_seconds": 0.2}}
    profile = {"name": "dev-local", "transport": {"kind": "local", "workdir": str(tmp_path / "device")},
               "runner": {"kind": "python", "interpreter": sys.executable}, "threads": {"intra_op": 1},
               "backends": [{"name": "ort", "provider": "CPUExecutionProvider"}]
               + [{"name": f"{n}-x", "runtime": n} for n in DEVICE_ONLY]}
    (tmp_path / "wl.yaml").write_text(yaml.safe_dump(workload))
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump(profile))
    env = {**os.environ, "HARNESS_BUILDS": str(tmp_path / "builds"), "HARNESS_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(tmp_path / "dev.yaml"), "-w",
                           str(tmp_path / "wl.yaml"), "--store", str(tmp_path / "s.db"), "--no-report"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    cells = Store(str(tmp_path / "s.db")).cells_frame()
    status = {(r.backend, r.precision): (r.status, r.error or "") for r in cells.itertuples()}
    assert all(status[("ort", p)][0] == "ok" for p in ("fp32", "fp16", "int8"))
    for name in DEVICE_ONLY:
        for precision in ("fp32", "fp16", "int8"):
            state, why = status[(f"{name}-x", precision)]
            assert state == "skipped", (name, precision, why)
            made = get_runtime(name).cannot_make(precision)
            assert why == made if made else why.startswith(f"device dev-local: the runner has no {name}") or (
                name == "coreml" and "pip install 'harness[coreml]'" in why), why
    assert "Core ML runs on macOS only" in status[("coreml-x", "fp32")][1] or "harness[coreml]" in status[
        ("coreml-x", "fp32")][1]
    assert "has no QNNExecutionProvider" in status[("qnn-x", "fp32")][1]
