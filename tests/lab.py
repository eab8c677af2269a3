"""A small device lab in one results store, built once per test session by real `harness run`s.

Devices: this machine under two profiles (``local-a``: 1 intra-op thread; ``local-b``: 2
threads and two backends), the sshd rig (``rig-ssh``) and the adbd rig behind the real adb
server (``rig-adb``). Workload ``tiny-mlp`` at fp32, fp16 and int8, where int8 is a user's
pre-built artifact that breaks at inference (every device's int8 cell fails).

Runs, in order: ``failed_run`` (local-a only, while another orchestrator holds its device
lock: every cell fails, "device busy"), then ``good_run`` (all four devices).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper, numpy_helper

from harness.results.store import Store
from harness.transport.local import LocalTransport
from harness.transport.lock import device_lock
from tests.helpers import tiny_mlp
from tests.rigs.adb_rig import AdbRig
from tests.rigs.fixtures import adb_profile_data, ssh_profile_data
from tests.rigs.sshd import SshdRig

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = """\
name: tiny-mlp
kind: generic
model:
  path: tiny.onnx
  prebuilt: {int8: broken-int8.onnx}
inputs:
  - name: x
    shape: [batch, 64]
    dtype: float32
    range: [-1, 1]
batch_sizes: [1, 4]
precisions: [fp32, fp16, int8]
measure:
  warmup: 1
  warmup_s: 0
  min_iterations: 20
  min_seconds: 0.05
  max_seconds: 0.5
"""


@dataclass
class Lab:
    root: Path
    env: dict[str, str]
    store_path: Path
    failed_run: str
    good_run: str
    build_id: str


def broken_int8(path: Path) -> Path:
    """Same I/O as tiny_mlp, valid ONNX, but the Reshape cannot hold 64 values: fails at run time."""
    w = numpy_helper.from_array(np.ones((63, 10), dtype=np.float32), "W")
    shape = numpy_helper.from_array(np.array([-1, 63], dtype=np.int64), "shape")
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("MatMul", ["r", "W"], ["y"])],
        "broken", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 10])], [w, shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def _local(name: str, workdir: Path, threads: int, backends: list[str]) -> dict[str, object]:
    return {"name": name, "description": f"this machine, {threads} intra-op thread(s)",
            "transport": {"kind": "local", "workdir": str(workdir)},
            "runner": {"kind": "python", "interpreter": sys.executable},
            "backends": [{"name": b, "provider": "CPUExecutionProvider"} for b in backends],
            "threads": {"intra_op": threads, "inter_op": 1}}


def _harness(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=900)


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory, sshd_rig: SshdRig, adb_rig: AdbRig) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("lab")
    wl = root / "workloads"
    wl.mkdir()
    tiny_mlp(wl / "tiny.onnx")
    broken_int8(wl / "broken-int8.onnx")
    (wl / "tiny.yaml").write_text(WORKLOAD)
    devices = root / "devices"
    devices.mkdir()
    assert sshd_rig.proxy
    sshd_rig.proxy.heal()
    adb_rig.heal()
    profiles = [_local("local-a", root / "dev-a", 1, ["cpu"]), _local("local-b", root / "dev-b", 2, ["cpu", "cpu-b"]),
                ssh_profile_data(sshd_rig), adb_profile_data(adb_rig)]
    files = []
    for p in profiles:
        path = devices / f"{p['name']}.yaml"
        path.write_text(yaml.safe_dump(p, sort_keys=False))
        files.append(path)
    env = dict(os.environ)
    store_path = root / "store.db"
    env.update(HARNESS_STORE=str(store_path), HARNESS_BUILDS=str(root / "builds"), ADBUTILS_ADB_PATH=adb_rig.adb_bin,
               HARNESS_LOCAL_WORKDIR=str(root / "local"), COLUMNS="250")
    with device_lock(LocalTransport(str(root / "dev-a")), "harness nightly on lab-host-2 (another orchestrator)"):
        busy = _harness(env, "run", "--device", str(files[0]), "--workloads-dir", str(wl), "--no-report")
    assert busy.returncode == 0, busy.stdout + busy.stderr
    good = _harness(env, "run", *[a for f in files for a in ("--device", str(f))], "--workloads-dir", str(wl),
                    "--no-report")
    assert good.returncode == 0, good.stdout + good.stderr
    store = Store(store_path)
    runs = store.list_runs()  # newest first
    yield Lab(root, env, store_path, failed_run=runs[1]["run_id"], good_run=runs[0]["run_id"],
              build_id=str(runs[0]["build_id"]))
    store.close()
