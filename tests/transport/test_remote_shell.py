"""The shell snippets, run by this host's real sh (dash on Debian)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from harness.transport import remote_shell as rs
from tests.transport.helpers import unique_sleep, wait_until_gone, wait_until_running


def sh(line: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", line], capture_output=True, text=True, timeout=timeout)


def test_argv_is_quoted_once_and_arrives_intact(tmp_path: Path) -> None:
    nasty = ["it's", 'a "quote"', "$HOME", "`id`", "a;b", "", "tab\there", "ünï"]
    line = rs.wrapped_exec(["printf", "%s\\n", *nasty], str(tmp_path / "run/x.pid"))
    res = sh(line)
    assert res.returncode == 0, res.stderr
    assert res.stdout.split("\n")[:-1] == nasty


def test_cwd_env_and_exit_code(tmp_path: Path) -> None:
    line = rs.wrapped_exec(["sh", "-c", 'pwd; echo "$FOO"; exit 7'], str(tmp_path / "p.pid"), str(tmp_path),
                           {"FOO": "bar baz"})
    res = sh(line)
    assert (res.returncode, res.stdout) == (7, f"{tmp_path}\nbar baz\n")
    assert not (tmp_path / "p.pid").exists()  # cleaned up after the command


def test_kill_group_kills_grandchildren(tmp_path: Path) -> None:
    token = unique_sleep()
    pidfile = str(tmp_path / "run/k.pid")
    script = f"sleep {token} & sleep {token}; wait"
    proc = subprocess.Popen(["sh", "-c", rs.wrapped_exec(["sh", "-c", script], pidfile)])
    assert len(wait_until_running(token, count=3)) >= 3  # wrapper shells and both sleeps
    assert sh(rs.kill_group_line(pidfile)).returncode == 0
    assert proc.wait(20) != 0
    assert wait_until_gone(token) == []


def test_parsers() -> None:
    assert rs.parse_sha256("a" * 64 + "  /x\n") == "a" * 64
    assert rs.parse_sha256("") is None
    df = "Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/sda1 100 40 60 40% /\n"
    assert rs.parse_df_kb(df) == 60
    assert rs.parse_df_kb("garbage") is None
    facts = rs.parse_facts("model=Pixel 8\nsoc=zuma\ncores=9\nram_kb=8000000\nmachine=aarch64\n", "adb")
    assert facts["model"] == "Pixel 8" and facts["cores"] == 9 and facts["ram_mb"] == 7812
    assert facts["abi"] == "aarch64" and facts["transport"] == "adb"


def _started(pidfile: Path, command: str, within_s: float = 20.0) -> int:
    """The pid the wrapper wrote, once that process runs ``command`` (exec'd)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            pid = int(pidfile.read_text())
            if Path(f"/proc/{pid}/comm").read_text().strip() == command:
                return pid
        except (OSError, ValueError):  # not written yet, or written half
            pass
        time.sleep(0.02)
    raise AssertionError(f"{pidfile}: no process running {command} within {within_s} s")


@pytest.mark.parametrize("tools", [("perl",), ()], ids=["perl-setpgrp (macOS)", "no setsid, no perl"])
def test_group_fallbacks_without_setsid(tmp_path: Path, tools: tuple[str, ...]) -> None:
    """macOS has no setsid (perl's setpgrp instead); a bare shell still runs the work."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("sh", "mkdir", "rm", "cat", "sleep", "kill", *tools):
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    token = unique_sleep()
    pidfile = str(tmp_path / "run/f.pid")
    env = {"PATH": str(bindir)}
    proc = subprocess.Popen([str(bindir / "sh"), "-c", rs.wrapped_exec(["sleep", token], pidfile)], env=env)
    assert wait_until_running(token, count=2)
    # The wrapper shells' command lines carry the token too: wait for the command itself, else the
    # group is read before perl has made it (perl sets the group, then execs sleep).
    pid = _started(tmp_path / "run/f.pid", "sleep")
    assert (os.getpgid(pid) == pid) == bool(tools)  # own group only where perl could make one
    subprocess.run([str(bindir / "sh"), "-c", rs.kill_group_line(pidfile)], env=env, check=True, timeout=20)
    assert proc.wait(20) != 0
    assert wait_until_gone(token) == []


def test_a_kill_before_the_command_started_still_stops_it(tmp_path: Path) -> None:
    """The timeout fired while the device was still starting the command (no pidfile yet)."""
    token = unique_sleep()
    pidfile = str(tmp_path / "run/late.pid")
    assert sh(rs.kill_group_line(pidfile)).returncode == 0  # finds nothing, leaves the cancel mark
    proc = subprocess.Popen(["sh", "-c", rs.wrapped_exec(["sleep", token], pidfile)])
    assert proc.wait(20) != 0
    assert wait_until_gone(token) == []
    assert not Path(pidfile + ".cancel").exists()
