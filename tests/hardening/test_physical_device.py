"""A device is a physical thing, a profile is a view of it: devices/local.yaml and a copy of it with
one thread instead of two, in one run, share this host's lock and run one after the other — every
cell ok, their measured windows never overlap, no "dead run" taken over and no runner of the one
ended by the other's orphan sweep."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml

from harness.config.loader import load_device
from harness.results.store import Store
from harness.transport.local import LocalTransport
from harness.transport.physical import physical_key
from tests.hardening.conftest import REPO, write_workloads

MEASURE = {"warmup": 0, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.5, "max_seconds": 0.7}


def _windows(cells) -> list[tuple[datetime, datetime]]:  # type: ignore[no-untyped-def]
    out = []
    for c in cells.itertuples():
        start = datetime.fromisoformat(c.started_at)
        out.append((start, start + timedelta(seconds=float(c.wall_s))))
    return sorted(out)


@pytest.mark.slow
def test_two_profiles_of_this_host_run_one_after_the_other(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    wl = write_workloads(tmp_path / "workloads", tiny={"measure": MEASURE, "precisions": ["fp32", "fp16"]})
    local = yaml.safe_load((REPO / "devices" / "local.yaml").read_text())
    local["precisions"] = ["fp32", "fp16"]
    one = tmp_path / "local.yaml"
    one.write_text(yaml.safe_dump(local))
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({**local, "name": "other", "threads": {"intra_op": 1, "inter_op": 1}}))
    assert physical_key(load_device(one)) == physical_key(load_device(other))

    res = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(one), "-d", str(other), "--workloads-dir",
                          str(wl), "--no-report"], cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=600)
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 0, out
    assert "dead run" not in out and "taking over" not in out and "without a result" not in out, out
    assert "busy" not in out, out  # the run itself drives them in turn: neither waits for the other's lock
    store = Store(cli_env["HARNESS_STORE"])
    cells = store.cells_frame()
    assert len(cells) == 4 and (cells.status == "ok").all(), cells[["device", "status", "error"]]
    a, b = (_windows(cells[cells.device == name]) for name in ("local", "other"))
    # every cell of one profile ends before any of the other's begins
    assert a[-1][1] <= b[0][0] or b[-1][1] <= a[0][0], (a, b)
    assert not (Path(cli_env["HARNESS_LOCAL_WORKDIR"]) / "lock").exists()  # the host's lock, released


def test_every_local_profile_takes_the_one_host_lock(tmp_path: Path) -> None:
    assert LocalTransport(str(tmp_path / "a")).lock_dir == LocalTransport(str(tmp_path / "b")).lock_dir
