"""Issue 23 item 3 through the CLI: a device whose run measured nothing (here: its setup command
fails, as a phone that went offline does) must not break `harness run`'s report nor `harness
publish`; the site shows the device down since that run, its last good results kept and dated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.commands.conftest import WORKLOAD
from tests.helpers import tiny_workloads

REPO = Path(__file__).resolve().parents[2]
DEVICE = """\
name: lab-phone
transport: {{kind: local}}
runner: {{kind: python}}
backends: [{{name: cpu, provider: CPUExecutionProvider}}]
threads: {{intra_op: 1, inter_op: 1}}
setup:{setup}
"""


def harness(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_a_device_that_measured_nothing_is_shown_down_and_the_site_still_publishes(tmp_path: Path) -> None:
    env = dict(os.environ, HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"),
               HARNESS_LOCAL_WORKDIR=str(tmp_path / "device"), COLUMNS="200")
    workloads = tiny_workloads(tmp_path, WORKLOAD.format(precisions="[fp32, fp16]", min_seconds=0.05))
    up, down = tmp_path / "up.yaml", tmp_path / "down.yaml"
    up.write_text(DEVICE.format(setup=" []"))
    down.write_text(DEVICE.format(setup="\n  - {argv: [sh, -c, 'echo device offline >&2; exit 3']}"))
    common = ["run", "--workloads-dir", str(workloads)]
    good = harness(env, *common, "-d", str(up), "--report-dir", str(tmp_path / "r-good"))
    assert good.returncode == 0, good.stdout + good.stderr
    bad = harness(env, *common, "-d", str(down), "--report-dir", str(tmp_path / "r-bad"))
    assert bad.returncode == 1, bad.stdout + bad.stderr  # cells failed: exit 1, not a crash
    assert "Traceback" not in bad.stderr and "KeyError" not in bad.stderr + bad.stdout
    assert (tmp_path / "r-bad" / "index.html").is_file()

    site = tmp_path / "site"
    pub = harness(env, "publish", "--out", str(site))
    assert pub.returncode == 0, pub.stdout + pub.stderr
    page = (site / "index.html").read_text()
    assert "down since" in page and "last good results kept" in page
    assert "device offline" in page  # what the device said, beside it
    assert page.count('class="at"') == 2  # both good cells of lab-phone still on the front page, dated
