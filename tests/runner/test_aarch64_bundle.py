"""The linux-aarch64 bundle as a stock phone runs it: launched through its own glibc loader, under
qemu user-mode here (timings mean nothing; the protocol and the bundle are what is proven).

- run directly on the three kinds: valid results, outputs equal to x86_64's within fp32 tolerance;
- pushed over the real adb server to the adbd rig: a cell ends ok, its outputs pass fidelity;
- with the host's x86 /proc/cpuinfo ORT crashes while loading: --probe says so clearly.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from harness.builds.runner import RunnerBuild
from harness.plan import Filters
from harness.protocol import Job, ProbeFacts, parse_result
from harness.session.launch import RunRequest, execute, prepare_run
from tests.commands.conftest import write_workload
from tests.helpers import tiny_mlp
from tests.rigs.adb_rig import AdbRig
from tests.rigs.fixtures import adb_profile_data
from tests.rigs.qemu import in_arm_namespace
from tests.runner.jobs import KINDS, KindCase, make_cases, make_job, run, run_one_ok_cell

pytestmark = [pytest.mark.slow, pytest.mark.rig]


def test_a_crash_while_ort_loads_is_a_clear_probe_message(aarch64_runner: RunnerBuild, arm_cpuinfo: Path) -> None:
    # no ARM cpuinfo here: ORT's cpuinfo reads the host's x86 one under qemu and crashes (measured)
    proc = subprocess.run(["sh", str(aarch64_runner.path / "run.sh"), "--probe"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3
    facts = ProbeFacts.model_validate_json(proc.stdout.strip().splitlines()[-1])
    assert facts.onnxruntime is None and facts.machine == "aarch64"
    assert "crashed while starting" in str(facts.onnxruntime_error)
    assert "Segmentation fault" in str(facts.onnxruntime_error) or "Illegal" in str(facts.onnxruntime_error)


@pytest.fixture(scope="module")
def cases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KindCase]:
    return make_cases(tmp_path_factory.mktemp("kinds"))


def test_three_kinds_on_aarch64_match_x86(cases: dict[str, KindCase], aarch64_runner: RunnerBuild,
                                          x86_runner: RunnerBuild, arm_cpuinfo: Path, tmp_path: Path) -> None:
    arm = in_arm_namespace(["sh", str(aarch64_runner.path / "run.sh")], arm_cpuinfo)
    for kind in KINDS:
        x86 = run(["sh", str(x86_runner.path / "run.sh")], make_job(cases[kind], tmp_path / kind / "x86"))
        job = make_job(cases[kind], tmp_path / kind / "arm")
        got = run(arm, job, timeout=600)
        assert got.rc == 0 and got.result, (got.stderr[-2000:], got.result and got.result["error"])
        result = parse_result(got.result, Job.model_validate(job))
        assert result.status == "ok" and result.env.machine == "aarch64"
        assert set(got.result["series"]) == set(x86.result["series"])  # type: ignore[index]
        assert set(got.outputs) == set(x86.outputs)
        for key, want in x86.outputs.items():
            if want.dtype.kind == "f":
                np.testing.assert_allclose(got.outputs[key], want, rtol=1e-4, atol=1e-5, err_msg=key)
            else:
                np.testing.assert_array_equal(got.outputs[key], want, err_msg=key)


def _phone_profile(rig: AdbRig, bundle: Path) -> dict[str, Any]:
    data = adb_profile_data(rig)
    data.update(name="rig-phone", runner={"kind": "native", "push": str(bundle)},
                probes={"memory": {"pss": True}})
    return data


def test_the_bundle_runs_a_cell_over_adb(aarch64_runner: RunnerBuild, arm_adb_rig: AdbRig, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADBUTILS_ADB_PATH", arm_adb_rig.adb_bin)
    devices, wl = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    wl.mkdir()
    (devices / "phone.yaml").write_text(yaml.safe_dump(_phone_profile(arm_adb_rig, aarch64_runner.path)))
    tiny_mlp(wl / "tiny.onnx")
    write_workload(wl, "[fp32]", min_seconds=0.05)
    store, run_id, cells = run_one_ok_cell(tmp_path, devices, wl)
    row = cells.iloc[0]
    facts = json.loads(row["fingerprint_json"])
    assert facts["agent_machine"] == "aarch64" and str(facts["agent_runner"]).startswith("native ")
    metrics = store.metrics_frame([run_id]).set_index("metric")["value"]
    rel = metrics[[n for n in metrics.index if n.startswith("rel_l2")]]
    assert len(rel) and (rel < 1e-5).all()  # the phone's outputs against the host's fp32 reference
    assert metrics["peak_rss_mb"] > 0 and metrics["peak_pss_mb"] > 0
    # the bundle is installed once: a second run sends nothing and reuses it
    req = RunRequest(filters=Filters(), devices_dir=devices, workloads_dir=wl, builds_root=tmp_path / "builds")
    again = execute(prepare_run(req, store))
    assert dict(again.statuses) == {"ok": 1}
    assert again.summary()["bytes_pushed"] == 0
