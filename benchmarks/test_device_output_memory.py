"""Peak memory of a `harness run` whose runner prints a gigabyte, over local and ssh (issue 23 item 5).

Each figure is the largest RSS among the harness process and its descendants (a fresh child;
`ru_maxrss` of RUSAGE_CHILDREN: over local that includes the runner, the same script in both rows;
over ssh the runner is sshd's child, so it is harness alone), with a flood of FLOOD_MB on stdout and
with none, measured in the same run; the ratio flood / quiet is the figure (was 3.3 GB for 1 GiB locally, 1.3 GB for 512 MiB over
ssh before the output was capped). The runner's output is streamed to capped files in the run's log
folder at the same time; their size is reported too. Nothing here asserts a number.

    .venv/bin/pytest benchmarks/test_device_output_memory.py --benchmark-enable -s
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.hardening.conftest import local_device
from tests.hardening.test_device_output import _hostile_run
from tests.rigs import fixtures as rig_fixtures

sshd_rig, ssh_device_yaml = rig_fixtures.sshd_rig, rig_fixtures.ssh_device_yaml

FLOOD_MB = int(os.environ.get("HARNESS_BENCH_FLOOD_MB", "1024"))


def _env(tmp_path: Path, flood_mb: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"),
               HARNESS_LOCAL_WORKDIR=str(tmp_path / "local"), HARNESS_LOCAL_LOCK=str(tmp_path / "lock"),
               HARNESS_LOGS=str(tmp_path / "logs"), HOSTILE_FLOOD_BYTES=str(flood_mb << 20), COLUMNS="200")
    return env


def _peak(tmp_path: Path, device: dict, flood_mb: int) -> tuple[float, int]:  # type: ignore[type-arg]
    env = _env(tmp_path, flood_mb)
    res, rss_mb = _hostile_run(tmp_path, env, device, ["flood"])
    assert res.returncode == 0, (res.stdout + res.stderr)[-2000:]
    logged = sum(p.stat().st_size for p in (tmp_path / "logs").rglob("*.log"))
    return rss_mb, logged


def _report(benchmark, name: str, tmp_path: Path, device_for) -> None:  # type: ignore[no-untyped-def]
    got: dict[str, tuple[float, int]] = {}

    def body() -> None:
        for label, mb in (("quiet", 0), ("flood", FLOOD_MB)):
            folder = tmp_path / label
            folder.mkdir()
            got[label] = _peak(folder, device_for(folder), mb)

    benchmark.pedantic(body, rounds=1, iterations=1)
    (quiet, _), (flood, logged) = got["quiet"], got["flood"]
    benchmark.extra_info.update({"quiet_rss_mb": round(quiet), "flood_rss_mb": round(flood),
                                 "ratio": round(flood / quiet, 3), "flood_mb": FLOOD_MB, "log_bytes": logged})
    print(f"\n{name}: peak RSS {quiet:.0f} MB quiet, {flood:.0f} MB with {FLOOD_MB} MB printed "
          f"(ratio {flood / quiet:.2f}); the run's log files hold {logged} bytes")


def test_flood_memory_local(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _report(benchmark, "local", tmp_path, lambda folder: local_device(folder, "loud"))


def test_flood_memory_ssh(benchmark, tmp_path: Path, ssh_device_yaml: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    device = yaml.safe_load(ssh_device_yaml.read_text())
    _report(benchmark, "ssh", tmp_path, lambda folder: device)
