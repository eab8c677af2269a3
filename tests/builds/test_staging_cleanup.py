"""Killed builds leave no staging folders: SIGTERM cleans up like Ctrl-C, and the next build removes
what a SIGKILLed one left — only a verifiably dead build's (this host, its pid gone)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.builds.builder import _STAGE_HOST, sweep_partials
from tests.hardening.conftest import REPO, cli_env, write_workloads  # noqa: F401  (fixture)


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_only_a_dead_builds_staging_is_swept(tmp_path: Path) -> None:
    alive = subprocess.Popen(["sleep", "60"])
    try:
        dead = tmp_path / f".b-1.partial-{_STAGE_HOST}-{_dead_pid()}"
        live = tmp_path / f".b-2.partial-{_STAGE_HOST}-{alive.pid}"
        elsewhere = tmp_path / f".b-3.partial-otherhost-{_dead_pid()}"
        build = tmp_path / "b-4"
        for d in (dead, live, elsewhere, build):
            (d / "w").mkdir(parents=True)
            (d / "w" / "model.onnx").write_bytes(b"x" * 1000)
        assert sweep_partials(tmp_path) == [dead]
        assert not dead.exists() and live.is_dir() and elsewhere.is_dir() and build.is_dir()
    finally:
        alive.kill()
        alive.wait()


def _partials(root: Path) -> list[Path]:
    return [p for p in root.iterdir() if ".partial-" in p.name] if root.is_dir() else []


def _kill_mid_build(tmp_path: Path, sig: int, env: dict[str, str]) -> subprocess.Popen[str]:
    wl = write_workloads(tmp_path / "workloads", tiny={"precisions": ["fp32", "fp16", "int8", "int8-static"]})
    proc = subprocess.Popen([sys.executable, "-m", "harness", "build", "--workloads-dir", str(wl)], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    root = Path(env["HARNESS_BUILDS"])
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and not _partials(root):
        time.sleep(0.005)
    if proc.poll() is not None:
        pytest.skip("the build finished before it could be killed")
    proc.send_signal(sig)
    proc.communicate(timeout=120)
    return proc


@pytest.mark.slow
def test_sigterm_during_a_build_cleans_its_staging(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    proc = _kill_mid_build(tmp_path, signal.SIGTERM, cli_env)
    assert proc.returncode != 0
    assert not _partials(Path(cli_env["HARNESS_BUILDS"]))


@pytest.mark.slow
def test_the_next_build_removes_a_sigkilled_builds_staging(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    _kill_mid_build(tmp_path, signal.SIGKILL, cli_env)
    root = Path(cli_env["HARNESS_BUILDS"])
    assert _partials(root)  # SIGKILL: nothing could clean up
    again = subprocess.run([sys.executable, "-m", "harness", "build", "--workloads-dir", str(tmp_path / "workloads")],
                           cwd=REPO, env=cli_env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    assert not _partials(root)
