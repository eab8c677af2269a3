"""The runtime axis through the sshd rig (the agent on a "board" over SSH): ncnn, MNN and
OpenVINO cells run there as they do locally, pushed artifacts and all, to the same outputs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.results.store import Store
from harness.runtimes.registry import get_runtime
from tests.rigs.fixtures import ssh_profile_data
from tests.rigs.sshd import SshdRig
from tests.runtimes.test_runtimes_end_to_end import WORKLOAD

REPO = Path(__file__).resolve().parents[2]
RUNTIMES = tuple(n for n in ("ncnn", "mnn", "openvino") if get_runtime(n).converter_missing() is None)


@pytest.mark.slow
@pytest.mark.rig
def test_runtime_cells_over_ssh_agree_with_the_same_cells_run_locally(sshd_rig: SshdRig, tmp_path: Path) -> None:
    assert sshd_rig.proxy
    sshd_rig.proxy.heal()
    wl = {**WORKLOAD, "precisions": ["fp32", "fp16"], "batch_sizes": [1]}
    (tmp_path / "wl.yaml").write_text(yaml.safe_dump(wl))
    ssh = ssh_profile_data(sshd_rig)
    backends = [{"name": f"{n}-cpu", "runtime": n} for n in RUNTIMES]
    ssh["backends"] = [*ssh["backends"], *backends]
    local = {"name": "here", "transport": {"kind": "local", "workdir": str(tmp_path / "device")},
             "runner": {"kind": "python", "interpreter": sys.executable},
             "threads": {"intra_op": 1, "inter_op": 1}, "backends": backends}
    for data in (ssh, local):
        (tmp_path / f"{data['name']}.yaml").write_text(yaml.safe_dump(data))
    env = {**os.environ, "HARNESS_BUILDS": str(tmp_path / "builds"), "HARNESS_HOME": str(tmp_path)}
    db = tmp_path / "store.db"
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(tmp_path / "rig-ssh.yaml"), "-d",
                           str(tmp_path / "here.yaml"), "-w", str(tmp_path / "wl.yaml"), "--store", str(db),
                           "--no-report"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    store = Store(str(db))
    cells = store.cells_frame()
    assert set(cells["status"]) == {"ok"}, cells[["device", "backend", "precision", "status", "error"]]
    over_ssh = cells[cells.device == "rig-ssh"]
    assert len(over_ssh) == 2 * (1 + len(RUNTIMES))
    assert set(over_ssh["transport"]) == {"ssh"}
    m = store.metrics_frame()
    rel = m[m.metric == "rel_l2:b1/logits"].set_index(["device", "backend", "precision"])["value"]
    for b in backends:
        for p in ("fp32", "fp16"):
            assert rel[("rig-ssh", b["name"], p)] == pytest.approx(rel[("here", b["name"], p)], rel=1e-6)
