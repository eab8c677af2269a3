"""A night's wall time on N rig devices in parallel vs the slowest device alone (and vs the sum).

Devices: the local device, the OpenSSH rig and the adb rig (all on this host). The agent's
test-only slowdown knob makes each timed call mostly a sleep, so a cell is dominated by
waiting on the "device", as on a real farm where the phone or board does the work; without
it the three "devices" would fight over this machine's two cores and measure the host, not
the orchestrator. Ratios land in extra_info and on stdout:

  parallel_over_slowest  ~1.0 means one worker per device overlaps them fully
  parallel_over_sum      1/N would be perfect overlap of N equal devices

Run: .venv/bin/pytest benchmarks/test_farm_parallel.py -s --benchmark-enable
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from harness.config.farm import load_farm
from harness.farm.night import run_night
from harness.results.store import Store
from tests.farm.conftest import WORKLOAD, local_profile, write_farm
from tests.helpers import tiny_mlp
from tests.rigs import fixtures as rigs

sshd_rig, ssh_device_yaml, adb_rig, adb_device_yaml = (  # the rig fixtures, for this module
    rigs.sshd_rig, rigs.ssh_device_yaml, rigs.adb_rig, rigs.adb_device_yaml)

SLOWDOWN = 9.0  # each timed call sleeps 9x its duration: ~90 % of a cell is waiting on the device


@pytest.fixture
def build(tmp_path: Path, benchmark) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    from harness.builds.builder import build as make
    from harness.config.loader import load_workload

    wl = tmp_path / "workloads"
    tiny_mlp(wl / "tiny.onnx", width=256)
    # timing off (CI): short cells; every night still runs each device's cells to ok
    window = {"min_seconds": 0.2, "max_seconds": 0.5} if benchmark.disabled else {"min_seconds": 2.0,
                                                                                     "max_seconds": 3.0}
    spec = {**WORKLOAD, "inputs": [{"name": "x", "shape": ["batch", 256], "dtype": "float32", "range": [-1, 1]}],
            "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 20, **window}}
    (wl / "tiny.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return wl, make([(load_workload(wl / "tiny.yaml"), wl / "tiny.yaml")], tmp_path / "builds",
                    precisions=["fp32", "int8"])


def _night(tmp_path: Path, build: tuple[Path, Path], profiles: list[Path], tag: str) -> float:
    folder = tmp_path / tag
    folder.mkdir()
    farm = write_farm(folder, build, [{"profile": str(p)} for p in profiles], max_consecutive_failures=None)
    cfg = load_farm(farm)
    cfg.farm = cfg.farm.model_copy(update={"publish_dir": None})
    store = Store(cfg.store_url())
    t0 = time.perf_counter()
    res = run_night(cfg, store, night="bench")
    wall = time.perf_counter() - t0
    assert res is not None and res.outcome is not None
    errors = store.cells_frame([res.run_id])["error"].dropna().tolist()
    assert dict(res.outcome.statuses) == {"ok": 2 * len(profiles)}, errors
    return wall


@pytest.mark.slow
@pytest.mark.rig
def test_parallel_night_is_close_to_the_slowest_device(
    benchmark, tmp_path: Path, build, ssh_device_yaml: Path, adb_device_yaml: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_TEST_SLOWDOWN", str(SLOWDOWN))
    devices = {"local": local_profile(tmp_path, "bench-local"), "ssh": ssh_device_yaml, "adb": adb_device_yaml}
    walls: list[float] = []
    # timing off (CI): the parallel night alone, every device's cells ok; the alone-nights only feed the ratio
    alone = {} if benchmark.disabled else {name: _night(tmp_path, build, [p], f"alone-{name}")
                                           for name, p in devices.items()}
    benchmark.pedantic(lambda: walls.append(_night(tmp_path, build, list(devices.values()), f"all-{len(walls)}")),
                       rounds=1, iterations=1)
    if benchmark.disabled:
        return
    parallel = walls[0]
    slowest, total = max(alone.values()), sum(alone.values())
    benchmark.extra_info.update(
        devices=len(devices), parallel_s=round(parallel, 2), slowest_alone_s=round(slowest, 2),
        sum_alone_s=round(total, 2), alone_s={k: round(v, 2) for k, v in alone.items()},
        parallel_over_slowest=round(parallel / slowest, 3), parallel_over_sum=round(parallel / total, 3),
        slowdown=SLOWDOWN,
    )
    print(f"\nfarm of {len(devices)} rig devices: parallel {parallel:.1f} s, slowest alone {slowest:.1f} s, "
          f"sum {total:.1f} s -> parallel/slowest {parallel / slowest:.2f}, parallel/sum {parallel / total:.2f}")
