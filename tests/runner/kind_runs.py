"""What the tests of the native runner's other-runtime kinds (ncnn, OpenVINO) share: `harness run` of a
native and an agent profile on a small CNN, the aarch64 bundle's job under qemu against the agent, and
one cell of the aarch64 bundle over the ARM adb rig."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from harness.builds.runner import RunnerBuild
from harness.protocol import Job, ProbeFacts, parse_result
from harness.results.store import Store
from tests.commands.conftest import write_workload
from tests.helpers import tiny_mlp
from tests.rigs.adb_rig import AdbRig
from tests.rigs.fixtures import adb_profile_data
from tests.rigs.qemu import in_arm_namespace
from tests.runner.jobs import agent_argv, launcher, rel_l2, run, run_one_ok_cell

REPO = Path(__file__).resolve().parents[2]
TINY_CNN = {
    "name": "tiny-cnn", "kind": "image-classification",
    "model": {"builtin": "image-resnet", "options": {"image": 32, "widths": [8, 16], "classes": 10}},
    "batch_sizes": [1, 2], "precisions": ["fp32", "fp16"],
    "measure": {"warmup": 2, "warmup_s": 0, "min_iterations": 20, "min_seconds": 0.1, "max_seconds": 1.0},
}


def local_profile(name: str, root: Path, runner: dict[str, Any], backends: list[dict[str, Any]]) -> dict[str, Any]:
    # a workdir of its own: the local device's default one is locked by any other run on this host
    return {"name": name, "transport": {"kind": "local", "workdir": str(root / name)}, "runner": runner,
            "threads": {"intra_op": 1, "inter_op": 1}, "backends": backends}


def harness_run_tiny_cnn(root: Path, profiles: list[dict[str, Any]], db: Path) -> Store:
    """`harness run` (a subprocess, as a user types it) of TINY_CNN on these profiles, into db."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "wl.yaml").write_text(yaml.safe_dump(TINY_CNN))
    argv = [sys.executable, "-m", "harness", "run", "-w", str(root / "wl.yaml"), "--store", str(db), "--no-report"]
    for p in profiles:
        (root / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
        argv += ["-d", str(root / f"{p['name']}.yaml")]
    env = {**os.environ, "HARNESS_BUILDS": str(root / "builds"), "HARNESS_HOME": str(root)}
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return Store(str(db))


def probe_lists(bundle: RunnerBuild, runtime: str, version: str) -> None:
    """The bundle's --probe offers ``runtime`` beside ONNX Runtime, at the version string the agent's probe
    gives (the wheel's), so native and agent rows compare; no ``<runtime>_error``."""
    proc = subprocess.run([*launcher(bundle), "--probe"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    facts = ProbeFacts.model_validate_json(proc.stdout.strip().splitlines()[-1])
    assert facts.runtimes == {"onnxruntime": facts.onnxruntime, runtime: version}
    assert f"{runtime}_error" not in json.loads(proc.stdout.strip().splitlines()[-1])


@dataclass
class NativeAndAgent:
    """The kind's backend cells of one `harness run` of TINY_CNN on a native and an agent profile."""

    rel: pd.DataFrame  # rel_l2 vs ORT fp32, (precision, metric) by device
    latency: pd.DataFrame  # latency_ms metrics, (precision, metric) by device


def native_and_agent_cells(bundle: RunnerBuild, root: Path, backends: list[dict[str, Any]], native: str,
                           agent: str) -> NativeAndAgent:
    """Run TINY_CNN on profile ``native`` (the bundle pushed) and ``agent`` (the Python agent), each with
    ``backends`` (ORT's first, the kind's second): every cell ok, the bundle installed once on the native
    device (as <kind>-linux-x86_64-…), each profile's cells run by its own runner."""
    kind = backends[1]["runtime"]
    profiles = [local_profile(native, root, {"kind": "native", "push": str(bundle.path)}, backends),
                local_profile(agent, root, {"kind": "python", "interpreter": sys.executable}, backends)]
    store = harness_run_tiny_cnn(root, profiles, root / "store.db")
    cells = store.cells_frame()
    assert len(cells) == 2 * 2 * 2 and set(cells["status"]) == {"ok"}, cells[["device", "backend", "precision",
                                                                             "status", "error"]]
    runners = {row.device: json.loads(row.fingerprint_json).get("agent_runner") for row in cells.itertuples()}
    installed = [p.name for p in (root / native / "runners").iterdir()]
    assert len(installed) == 1 and installed[0].startswith(f"{kind}-linux-x86_64-")  # its own name, beside any plain bundle
    assert str(runners[native]).startswith("native ") and not str(runners[agent]).startswith("native")
    metrics = store.metrics_frame()
    mine = metrics[metrics.backend == backends[1]["name"]]
    rel = mine[mine.metric.str.startswith("rel_l2:")].pivot_table(index=["precision", "metric"], columns="device",
                                                                    values="value")
    assert len(rel) == 2 * 2  # fp32 and fp16, two batch sizes
    lat = mine[mine.metric.str.fullmatch(r"latency_ms(@\w+)?")].pivot_table(index=["precision", "metric"],
                                                                           columns="device", values="value")
    assert len(lat) and (lat > 0).all().all()
    print(f"native / agent latency ({kind} cells):\n", (lat[native] / lat[agent]).to_string())
    return NativeAndAgent(rel, lat)


def arm_job_matches_the_agent(bundle: RunnerBuild, arm_cpuinfo: Path, runtime: str, version: str,
                              job_in: Callable[[Path], dict[str, Any]], tmp_path: Path) -> None:
    """The aarch64 bundle under qemu: --probe lists ``runtime`` at ``version``, and the job ``job_in(folder)``
    ends ok with the agent's outputs on the host to fp32 rounding (ARM's kernels against x86's)."""
    arm = in_arm_namespace(launcher(bundle), arm_cpuinfo)
    proc = subprocess.run([*arm, "--probe"], capture_output=True, text=True, timeout=300)
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    assert facts["machine"] == "aarch64" and facts["runtimes"].get(runtime) == version, facts
    py = run(agent_argv(), job_in(tmp_path / "python"))
    job = job_in(tmp_path / "arm")
    got = run(arm, job, timeout=600)
    assert got.rc == 0 and got.result, (got.stderr[-2000:], got.result and got.result["error"])
    result = parse_result(got.result, Job.model_validate(job))
    assert result.status == "ok" and result.env.machine == "aarch64"
    for key, want in py.outputs.items():
        assert rel_l2(want, got.outputs[key]) < 1e-5, key


def one_cell_over_adb(bundle: RunnerBuild, rig: AdbRig, name: str, backend: dict[str, Any], tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> pd.Series:
    """One fp32 cell of the tiny MLP with the aarch64 bundle pushed over adb to the ARM adb rig: it ends ok on
    the aarch64 native runner; its metrics by name."""
    monkeypatch.setenv("ADBUTILS_ADB_PATH", rig.adb_bin)
    devices, wl = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    wl.mkdir()
    data = adb_profile_data(rig)
    data.update(name=name, runner={"kind": "native", "push": str(bundle.path)}, backends=[backend])
    (devices / "phone.yaml").write_text(yaml.safe_dump(data))
    tiny_mlp(wl / "tiny.onnx")
    write_workload(wl, "[fp32]", min_seconds=0.05)
    store, run_id, cells = run_one_ok_cell(tmp_path, devices, wl)
    facts = json.loads(cells.iloc[0]["fingerprint_json"])
    assert facts["agent_machine"] == "aarch64" and str(facts["agent_runner"]).startswith("native ")
    metrics: pd.Series = store.metrics_frame([run_id]).set_index("metric")["value"]
    return metrics


def rel_l2_metrics(metrics: pd.Series) -> pd.Series:
    """The cell's output errors against the host's ORT fp32 (rel_l2:<output>)."""
    return metrics[[n for n in metrics.index if n.startswith("rel_l2")]]

