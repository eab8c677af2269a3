"""A small device lab in one results store, built once per test session by real `harness run`s.

Devices: this machine under two profiles (``local-a``: 1 intra-op thread; ``local-b``: 2
threads and two backends), the sshd rig (``rig-ssh``) and the adbd rig behind the real adb
server (``rig-adb``). Workload ``tiny-mlp`` at fp32, fp16 and int8. Every device runs the agent
through a runner that crashes on int8 jobs (as a vendor driver might) without writing a result,
so every device's int8 cell fails at run time — the build's own check of the int8 variant passes.

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
from unittest import mock

import pytest
import yaml

from harness.results.store import Store
from harness.transport.local import LocalTransport
from harness.transport.lock import device_lock
from tests.helpers import tiny_mlp, tiny_mlp_workload
from tests.rigs.adb_rig import AdbRig
from tests.rigs.fixtures import adb_profile_data, ssh_profile_data
from tests.rigs.sshd import SshdRig

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = tiny_mlp_workload("tiny-mlp", {"warmup": 1, "warmup_s": 0, "min_iterations": 20, "min_seconds": 0.05,
                                          "max_seconds": 0.5}, precisions="[fp32, fp16, int8]", batch_sizes="[1, 4]")


@dataclass
class Lab:
    root: Path
    env: dict[str, str]
    store_path: Path
    failed_run: str
    good_run: str
    build_id: str


def crashing_runner(path: Path) -> Path:
    """An interpreter for the agent that dies on int8 jobs with no result. Its arguments are the
    agent's start (preflight.agent_argv without the interpreter), then job.json, --probe or
    --job-from-stdin with the job's path on stdin, as a prestarted agent gets it."""
    path.write_text(f"#!{sys.executable}\n"
                    "import os, sys\n"
                    "args = sys.argv[1:]\n"
                    "if args[-1] == '--job-from-stdin':\n"
                    "    args[-1] = sys.stdin.readline().strip()\n"
                    "    if not args[-1]:\n"
                    "        sys.exit(0)\n"
                    "if 'int8' in args[-1]:\n"
                    "    sys.stderr.write('SIGSEGV in vendor driver (int8)\\n')\n"
                    "    sys.exit(139)\n"
                    "os.execv(sys.executable, [sys.executable, *args])\n")
    path.chmod(0o755)
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
    runner = crashing_runner(root / "crashing-python")
    (wl / "tiny.yaml").write_text(WORKLOAD)
    devices = root / "devices"
    devices.mkdir()
    assert sshd_rig.proxy
    sshd_rig.proxy.heal()
    adb_rig.heal()
    profiles = [_local("local-a", root / "dev-a", 1, ["cpu"]), _local("local-b", root / "dev-b", 2, ["cpu", "cpu-b"]),
                ssh_profile_data(sshd_rig), adb_profile_data(adb_rig)]
    for p in profiles:
        p["runner"] = {"kind": "python", "interpreter": str(runner)}
    files = []
    for p in profiles:
        path = devices / f"{p['name']}.yaml"
        path.write_text(yaml.safe_dump(p, sort_keys=False))
        files.append(path)
    env = dict(os.environ)
    store_path = root / "store.db"
    env.update(HARNESS_STORE=str(store_path), HARNESS_BUILDS=str(root / "builds"), ADBUTILS_ADB_PATH=adb_rig.adb_bin,
               HARNESS_LOCAL_WORKDIR=str(root / "local"), HARNESS_LOCAL_LOCK=str(root / "local" / "lock"),
               HARNESS_HOST_LOCKS=str(root / "host-locks"), HARNESS_LOGS=str(root / "logs"), COLUMNS="250")
    # every local profile is this host: its one lock (the one the harness below takes) is held
    with mock.patch.dict(os.environ, {"HARNESS_LOCAL_LOCK": str(root / "local" / "lock")}), \
            device_lock(LocalTransport(str(root / "dev-a")), "harness nightly on lab-host-2 (another orchestrator)"):
        busy = _harness(env, "run", "--no-wait", "--device", str(files[0]), "--workloads-dir", str(wl), "--no-report")
    assert busy.returncode == 1 and "busy" in busy.stdout, busy.stdout + busy.stderr  # exit 1: cells failed
    good = _harness(env, "run", *[a for f in files for a in ("--device", str(f))], "--workloads-dir", str(wl),
                    "--no-report")
    assert good.returncode == 1 and " failed of " in good.stdout, good.stdout + good.stderr  # the int8 cells
    store = Store(store_path)
    runs = store.list_runs()  # newest first
    yield Lab(root, env, store_path, failed_run=runs[1]["run_id"], good_run=runs[0]["run_id"],
              build_id=str(runs[0]["build_id"]))
    store.close()
