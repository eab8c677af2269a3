"""Waiting for a busy device in the commands other than run: the live line, and `sustained`
failing at once with --no-wait or after --wait-timeout, naming the holder."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from harness.cli import app
from harness.commands._waiting import WaitLine
from harness.session.runner import Event
from harness.transport import lock as lock_mod
from harness.transport.local import LocalTransport
from harness.transport.lock import device_lock
from tests.commands.conftest import write_workload


def test_the_wait_line_is_printed_once_then_says_how_long_it_waited() -> None:
    buf = io.StringIO()
    line = WaitLine(Console(file=buf, width=200))
    line.on_event(Event("device_start", "pixel"))
    line.on_event(Event("device_waiting", "pixel", message="held by [bold]nightly[/] (host h, pid 7)"))
    line.on_event(Event("device_waiting", "pixel", message="held by [bold]nightly[/] (host h, pid 7), waited 2 s"))
    line.on_event(Event("cell_start", "pixel"))
    line.close()
    out = buf.getvalue()
    assert out.count("device pixel is busy, waiting for it: held by [bold]nightly[/] (host h, pid 7)") == 1  # plain text, once
    assert "device pixel: free after waiting 0 s" in out


@pytest.mark.slow
def test_sustained_on_a_busy_device_fails_naming_the_holder(tiny_workloads: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lock_mod, "WAIT_POLL_S", 0.1)
    write_workload(tiny_workloads, "[fp32]", min_seconds=0.05)
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    args = ["sustained", "-d", "local", "-w", "tiny-mlp", "-m", "0.01", "--workloads-dir", str(tiny_workloads)]
    runner = CliRunner()
    with device_lock(LocalTransport(), "harness nightly on rack-b"):
        fast = runner.invoke(app, [*args, "--no-wait"], env={"COLUMNS": "200"})
        waited = runner.invoke(app, [*args, "--wait-timeout", "0.5"], env={"COLUMNS": "200"})
    for res in (fast, waited):
        assert res.exit_code != 0 and isinstance(res.exception, Exception)
        assert "busy" in str(res.exception) and "harness nightly on rack-b" in str(res.exception)
    assert "waited" in str(waited.exception) and "waited" not in str(fast.exception)
    assert "device local is busy" in waited.output
