"""The native runner's OpenVINO kind (bundle openvino-<target>, `harness runner build --runtime
openvino`) against the Python agent's OpenVINO adapter on the same artifacts:

- a job run both ways: valid protocol-1 results, the same series, outputs within rel-L2 1e-6;
- `harness run` with a native profile and an agent profile, each with an OpenVINO backend: every
  cell ok and each native cell's rel-L2 vs ORT fp32 equal to the agent's;
- a runner built without it says what to build; a native profile whose runner lacks it skips;
- the aarch64 bundle under qemu, pushed over adb to the adbd rig: an OpenVINO cell ends ok.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.builds.runner import RunnerBuild
from harness.protocol import Job, parse_result
from tests.rigs.adb_rig import AdbRig
from tests.runner.jobs import KindCase, agent_argv, launcher, make_cases, make_job, rel_l2, run
from tests.runner.kind_runs import (
    arm_job_matches_the_agent,
    harness_run_tiny_cnn,
    local_profile,
    native_and_agent_cells,
    one_cell_over_adb,
    probe_lists,
    rel_l2_metrics,
)

pytestmark = pytest.mark.slow
OV_VERSION = importlib.metadata.version("openvino")


def runtime_block(settings: dict[str, str]) -> dict[str, Any]:
    """The job's runtime block as the host sends it for the tiny MLP (x -> y, identity io)."""
    return {"name": "openvino", "options": {"num_threads": 1}, "settings": settings,
            "io": {"inputs": [{"onnx": "x", "artifact": "x"}], "outputs": [{"onnx": "y", "artifact": "y"}]}}


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> KindCase:
    return make_cases(tmp_path_factory.mktemp("kinds"))["single"]


def test_probe_lists_openvino_with_the_wheels_version(x86_openvino_runner: RunnerBuild) -> None:
    assert x86_openvino_runner.manifest.runtimes == {"openvino": OV_VERSION}
    assert any(f.startswith("lib/libopenvino_intel_cpu_plugin") for f in x86_openvino_runner.manifest.files)
    probe_lists(x86_openvino_runner, "openvino", OV_VERSION)


def test_a_bundle_whose_cpu_plugin_cannot_load_does_not_offer_openvino(x86_openvino_runner: RunnerBuild,
                                                                       tmp_path: Path) -> None:
    """A device where OpenVINO cannot start (here: its CPU plugin gone) still runs ONNX Runtime; the probe
    drops openvino and says why, so its OpenVINO cells are skipped with that reason instead of failing."""
    broken = tmp_path / "bundle"
    shutil.copytree(x86_openvino_runner.path, broken)
    (broken / "lib" / "libopenvino_intel_cpu_plugin.so").unlink()
    proc = subprocess.run(["sh", str(broken / "run.sh"), "--probe"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(facts["runtimes"]) == {"onnxruntime"} and facts["smoke"] == "ok"
    assert "smoke inference failed" in facts["openvino_error"] and "CPU" in facts["openvino_error"]


@pytest.mark.parametrize("precision,settings", [("fp32", {"INFERENCE_PRECISION_HINT": "f32"}), ("fp16", {})])
def test_a_job_matches_the_agents_openvino(precision: str, settings: dict[str, str], single: KindCase,
                                           x86_openvino_runner: RunnerBuild, tmp_path: Path) -> None:
    py_job = make_job(single, tmp_path / "python", runtime=runtime_block(settings))
    native_job = make_job(single, tmp_path / "native", runtime=runtime_block(settings))
    py, native = run(agent_argv(), py_job), run(launcher(x86_openvino_runner), native_job)
    assert py.rc == 0 and native.rc == 0, (py.result and py.result["error"], native.stderr, native.result)
    assert py.result and native.result
    result = parse_result(native.result, Job.model_validate(native_job))
    assert result.status == "ok" and result.env.machine == "x86_64" and str(result.env.runner).startswith("native ")
    assert result.env.onnxruntime is None  # ONNX Runtime is not loaded for an OpenVINO job (nor by the agent)
    assert native.result["env"]["runtimes"] == py.result["env"]["runtimes"]  # OpenVINO's own build string
    for field in ("series", "load_ms", "first_inference_ms", "windows"):
        assert set(native.result[field]) == set(py.result[field]), field
    for s in native.result["series"].values():
        assert len(s["samples"]) >= 3 and s["warmup_n"] >= 1 and all(v > 0 for v in s["samples"])
    assert native.result["session"]["INFERENCE_NUM_THREADS"] == "1"
    if precision == "fp32":
        assert native.result["session"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert native.result["providers"]["used"] == py.result["providers"]["used"] == "openvino:CPU"
    assert native.result["memory"]["peak_rss_mb"] > 0
    assert set(native.outputs) == set(py.outputs) == {"b1/y", "b4/y"}
    for key, want in py.outputs.items():
        assert native.outputs[key].dtype == want.dtype and native.outputs[key].shape == want.shape
        assert rel_l2(want, native.outputs[key]) <= 1e-6, key


def test_a_runner_built_without_openvino_says_what_to_build(single: KindCase, x86_runner: RunnerBuild,
                                                            tmp_path: Path) -> None:
    got = run(launcher(x86_runner), make_job(single, tmp_path, runtime=runtime_block({})))
    assert got.rc == 1 and got.result and got.result["status"] == "failed"
    assert "runs onnxruntime only, not runtime 'openvino'" in got.result["error"]
    assert "--runtime openvino" in got.result["error"]
    proc = subprocess.run([*launcher(x86_runner), "--probe"], capture_output=True, text=True, timeout=120)
    assert json.loads(proc.stdout.strip().splitlines()[-1])["runtimes"] == {"onnxruntime": x86_runner.manifest.onnxruntime}


BACKENDS = [{"name": "ort", "provider": "CPUExecutionProvider"}, {"name": "ov-cpu", "runtime": "openvino"}]


def test_harness_run_native_openvino_cells_agree_with_the_agent(x86_openvino_runner: RunnerBuild,
                                                                tmp_path: Path) -> None:
    rel = native_and_agent_cells(x86_openvino_runner, tmp_path, BACKENDS, "ov-native", "ov-agent").rel
    fp32 = rel.loc["fp32"]
    assert (fp32["ov-native"] < 1e-5).all()  # OpenVINO f32 against ORT fp32 on the same inputs
    # the native runner's outputs are the agent's: the same distance from the same reference
    np.testing.assert_allclose(rel["ov-native"], rel["ov-agent"], rtol=1e-6, atol=1e-12)


def test_a_native_profile_without_openvino_skips_its_cells(x86_runner: RunnerBuild, tmp_path: Path) -> None:
    plain = local_profile("plain-native", tmp_path, {"kind": "native", "push": str(x86_runner.path)}, BACKENDS)
    store = harness_run_tiny_cnn(tmp_path, [plain], tmp_path / "store.db")
    cells = store.cells_frame()
    ov = cells[cells.backend == "ov-cpu"]
    assert set(cells[cells.backend == "ort"]["status"]) == {"ok"}
    assert set(ov["status"]) == {"skipped"}, ov[["status", "error"]]
    assert all("--runtime openvino" in e for e in ov["error"])


# --------------------------------------------------------------------------- aarch64 under qemu
@pytest.mark.rig
def test_the_aarch64_bundle_runs_openvino_under_qemu(aarch64_openvino_runner: RunnerBuild, arm_cpuinfo: Path,
                                                     single: KindCase, tmp_path: Path) -> None:
    assert any(f.startswith("lib/libopenvino_arm_cpu_plugin") for f in aarch64_openvino_runner.manifest.files)
    arm_job_matches_the_agent(aarch64_openvino_runner, arm_cpuinfo, "openvino", OV_VERSION,
                              lambda out: make_job(single, out, runtime=runtime_block({"INFERENCE_PRECISION_HINT": "f32"})),
                              tmp_path)


@pytest.mark.rig
def test_the_aarch64_bundle_runs_an_openvino_cell_over_adb(aarch64_openvino_runner: RunnerBuild, arm_adb_rig: AdbRig,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    metrics = one_cell_over_adb(aarch64_openvino_runner, arm_adb_rig, "rig-phone-ov",
                                {"name": "ov-cpu", "runtime": "openvino"}, tmp_path, monkeypatch)
    rel = rel_l2_metrics(metrics)
    assert len(rel) and (rel < 1e-5).all()  # the phone's OpenVINO outputs against the host's ORT fp32
    assert metrics["peak_rss_mb"] > 0
