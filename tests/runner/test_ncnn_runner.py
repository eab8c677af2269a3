"""The native runner's ncnn kind (bundle ncnn-<target>, `harness runner build --runtime ncnn`: a
static libncnn built from ncnn's PyPI sdist) against the Python agent's ncnn adapter:

- a job on pnnx's artifacts run both ways, fp32 and fp16: valid protocol-1 results, the same
  series, the same outputs (rel-L2 <= 1e-6: the same ncnn, its x86-64-v3 kernels against the wheel's
  run-time dispatch on this CPU);
- `harness run` with a native profile and an agent profile, each with an ncnn backend, on a small
  image-resnet: every cell ok and each native cell's rel-L2 vs ORT fp32 equal to the agent's;
- a runner built without it says what to build;
- the aarch64 bundle under qemu: --probe lists ncnn, a job ends ok, and an ncnn cell pushed over adb
  to the adbd rig ends ok with rel-L2 < 1e-4 against the host's ORT fp32.

Building ncnn is the slow part (minutes per target, once: the parts cache keeps it), hence slow.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.builds import image
from harness.builds.runner import RunnerBuild
from harness.protocol import Job, parse_result
from harness.runtimes.base import ModelInfo
from harness.runtimes.ncnn import Ncnn
from tests.rigs.adb_rig import AdbRig
from tests.rigs.qemu import in_arm_namespace
from tests.runner.jobs import KindCase, agent_argv, launcher, make_cases, make_job, rel_l2, run
from tests.runner.kind_runs import (
    arm_job_matches_the_agent,
    native_and_agent_cells,
    one_cell_over_adb,
    probe_lists,
    rel_l2_metrics,
)

pytestmark = pytest.mark.slow
NCNN_VERSION = importlib.metadata.version("ncnn")


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> KindCase:
    return make_cases(tmp_path_factory.mktemp("kinds"))["single"]


@pytest.fixture(scope="module")
def converted(single: KindCase, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, str],
                                                                                             dict[str, Any]]]:
    """pnnx's artifacts of the tiny MLP per precision: (files by role, the job's runtime block)."""
    out: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}
    info = ModelInfo(Path(single.models["model"]), {"x": (1, 64)}, ["y"])
    for precision in ("fp32", "fp16"):
        made = Ncnn().convert(info, precision, tmp_path_factory.mktemp(f"ncnn-{precision}"))
        block = {"name": "ncnn", "options": {"num_threads": 1}, "settings": dict(made.settings),
                 "io": made.io.to_json()}
        out[precision] = ({role: str(p) for role, p in made.files.items()}, block)
    return out


def ncnn_job(single: KindCase, converted: dict[str, Any], precision: str, out_dir: Path) -> dict[str, Any]:
    files, block = converted[precision]
    return make_job(single, out_dir, models=files, runtime=block)


def test_probe_lists_ncnn_with_the_wheels_version(x86_ncnn_runner: RunnerBuild) -> None:
    assert x86_ncnn_runner.manifest.runtimes == {"ncnn": NCNN_VERSION}
    assert not any("ncnn" in f or "gomp" in f for f in x86_ncnn_runner.manifest.files)  # static, its own OpenMP
    probe_lists(x86_ncnn_runner, "ncnn", NCNN_VERSION)


@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_a_job_matches_the_agents_ncnn(precision: str, single: KindCase, converted: dict[str, Any],
                                       x86_ncnn_runner: RunnerBuild, tmp_path: Path) -> None:
    py_job = ncnn_job(single, converted, precision, tmp_path / "python")
    native_job = ncnn_job(single, converted, precision, tmp_path / "native")
    py, native = run(agent_argv(), py_job), run(launcher(x86_ncnn_runner), native_job)
    assert py.rc == 0 and native.rc == 0, (py.result and py.result["error"], native.stderr, native.result)
    assert py.result and native.result
    result = parse_result(native.result, Job.model_validate(native_job))
    assert result.status == "ok" and result.env.machine == "x86_64" and str(result.env.runner).startswith("native ")
    assert result.env.onnxruntime is None  # ONNX Runtime is not loaded for an ncnn job (nor by the agent)
    assert native.result["env"]["runtimes"] == py.result["env"]["runtimes"] == {"ncnn": NCNN_VERSION}
    for field in ("series", "load_ms", "first_inference_ms", "windows"):
        assert set(native.result[field]) == set(py.result[field]), field
    for s in native.result["series"].values():
        assert len(s["samples"]) >= 3 and s["warmup_n"] >= 1 and all(v > 0 for v in s["samples"])
    assert native.result["session"] == py.result["session"]  # threads and fp16 switches as the agent set them
    assert native.result["session"]["use_fp16_storage"] is (precision == "fp16")
    assert native.result["providers"]["used"] == py.result["providers"]["used"] == "ncnn:CPU"
    assert native.result["memory"]["peak_rss_mb"] > 0
    assert set(native.outputs) == set(py.outputs) == {"b1/y", "b4/y"}
    for key, want in py.outputs.items():
        assert native.outputs[key].dtype == want.dtype and native.outputs[key].shape == want.shape
        got = rel_l2(want, native.outputs[key])
        print(f"{precision} {key}: native vs agent rel-L2 {got:.2e}")
        assert got <= 1e-6, key


def test_a_runner_built_without_ncnn_says_what_to_build(single: KindCase, converted: dict[str, Any],
                                                        x86_runner: RunnerBuild, tmp_path: Path) -> None:
    got = run(launcher(x86_runner), ncnn_job(single, converted, "fp32", tmp_path))
    assert got.rc == 1 and got.result and got.result["status"] == "failed"
    assert "not runtime 'ncnn'" in got.result["error"] and "--runtime ncnn" in got.result["error"]


BACKENDS = [{"name": "ort", "provider": "CPUExecutionProvider"}, {"name": "ncnn-cpu", "runtime": "ncnn"}]


def test_harness_run_native_ncnn_cells_agree_with_the_agent(x86_ncnn_runner: RunnerBuild, tmp_path: Path) -> None:
    rel = native_and_agent_cells(x86_ncnn_runner, tmp_path, BACKENDS, "ncnn-native", "ncnn-agent").rel
    assert (rel.loc["fp32"]["ncnn-native"] < 1e-5).all()  # ncnn fp32 against ORT fp32 on the same inputs
    assert (rel.loc["fp16"]["ncnn-native"] < 1e-2).all()  # fp16 weights and storage
    # the native runner's outputs are the agent's up to fp32 rounding (x86-64-v3 kernels against the wheel's
    # dispatch): the same distance from the same reference, to within their own rel-L2 (triangle inequality)
    np.testing.assert_allclose(rel["ncnn-native"], rel["ncnn-agent"], rtol=0, atol=1e-6)
    print("rel-L2 vs ORT fp32 (ncnn cells):\n", rel.to_string())


# --------------------------------------------------------------------------- aarch64 under qemu
@pytest.mark.rig
def test_the_aarch64_bundle_runs_ncnn_under_qemu(aarch64_ncnn_runner: RunnerBuild, arm_cpuinfo: Path,
                                                 single: KindCase, converted: dict[str, Any], tmp_path: Path) -> None:
    arm_job_matches_the_agent(aarch64_ncnn_runner, arm_cpuinfo, "ncnn", NCNN_VERSION,
                              lambda out: ncnn_job(single, converted, "fp32", out), tmp_path)


@pytest.mark.rig
def test_the_aarch64_bundle_runs_a_cnn_at_fp32_and_fp16_under_qemu(aarch64_ncnn_runner: RunnerBuild,
                                                                   arm_cpuinfo: Path, tmp_path: Path) -> None:
    """A small image-resnet (convolutions: ncnn's ARM kernels, picked at run time) against the host's ORT fp32."""
    import onnxruntime as ort

    onnx_path = tmp_path / "cnn.onnx"
    onnx_path.write_bytes(image.build_resnet(image.ResNetConfig.from_options(
        {"image": 32, "widths": [8, 16], "classes": 10}), 0).SerializeToString())
    feeds = {"b1/pixel_values": np.random.default_rng(1).uniform(-2, 2, (1, 3, 32, 32)).astype(np.float32)}
    np.savez(tmp_path / "feeds.npz", **feeds)
    ref = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(
        None, {"pixel_values": feeds["b1/pixel_values"]})[0]
    case = KindCase("single", {}, str(tmp_path / "feeds.npz"), {})
    arm = in_arm_namespace(launcher(aarch64_ncnn_runner), arm_cpuinfo)
    info = ModelInfo(onnx_path, {"pixel_values": (1, 3, 32, 32)}, ["logits"])
    for precision, bound in (("fp32", 1e-5), ("fp16", 1e-2)):
        made = Ncnn().convert(info, precision, tmp_path / precision)
        block = {"name": "ncnn", "options": {"num_threads": 1}, "settings": dict(made.settings),
                 "io": made.io.to_json()}
        job = make_job(case, tmp_path / f"arm-{precision}", runtime=block,
                       models={role: str(f) for role, f in made.files.items()})
        got = run(arm, job, timeout=600)
        assert got.rc == 0 and got.result and got.result["status"] == "ok", (got.stderr[-2000:], got.result)
        assert got.result["session"]["use_fp16_arithmetic"] is (precision == "fp16")
        distance = rel_l2(ref, got.outputs["b1/logits"])
        print(f"aarch64 ncnn {precision} CNN vs host ORT fp32: rel-L2 {distance:.2e}")
        assert distance < bound, precision


@pytest.mark.rig
def test_the_aarch64_bundle_runs_an_ncnn_cell_over_adb(aarch64_ncnn_runner: RunnerBuild, arm_adb_rig: AdbRig,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = one_cell_over_adb(aarch64_ncnn_runner, arm_adb_rig, "rig-phone-ncnn", {"name": "ncnn-cpu", "runtime": "ncnn"},
                                tmp_path, monkeypatch)
    rel = rel_l2_metrics(metrics)
    assert len(rel) and (rel < 1e-4).all()  # the phone's ncnn outputs against the host's ORT fp32
    print("aarch64 ncnn cell rel-L2 vs host ORT fp32:", rel.to_dict())
    assert metrics["peak_rss_mb"] > 0
