"""examples/ci: the workflows parse and call the gate script; the gate script runs end to end on the local
device (two builds, interleaved runs, compare) and leaves a PR comment that renders."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cmarkgfm
import pytest
import yaml

from tests.commands.conftest import WORKLOAD
from tests.helpers import tiny_mlp

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"


def test_workflows_parse_and_run_the_gate_script() -> None:
    gh = yaml.safe_load((CI / "github-actions.yml").read_text())
    job = gh["jobs"]["gate"]
    assert "self-hosted" in job["runs-on"] and gh["permissions"]["pull-requests"] == "write"
    steps = " ".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in job["steps"])
    assert "harness-gate.sh base change" in steps and "gh pr comment" in steps and 'exit "${{ steps.gate' in steps
    gl = yaml.safe_load((CI / "gitlab-ci.yml").read_text())["harness-gate"]
    script = "\n".join(gl["script"])
    assert "harness-gate.sh" in script and "merge_requests/$CI_MERGE_REQUEST_IID/notes" in script
    assert 'exit "$code"' in script and gl["rules"][0]["if"] == '$CI_PIPELINE_SOURCE == "merge_request_event"'
    check = subprocess.run(["bash", "-n", str(CI / "harness-gate.sh")], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


@pytest.mark.slow
def test_gate_script_builds_runs_compares_and_writes_the_comment(tmp_path: Path) -> None:
    for side in ("base", "change"):
        folder = tmp_path / side / "workloads"
        folder.mkdir(parents=True)
        tiny_mlp(folder / "tiny.onnx")  # the same model both sides: nothing may regress
        (folder / "tiny.yaml").write_text(WORKLOAD.format(precisions="[fp32]", min_seconds=0.05))
    harness_bin = Path(shutil.which("harness") or Path(sys.executable).parent / "harness")
    env = {**os.environ, "HARNESS_STORE": str(tmp_path / "store.db"), "HARNESS_BUILDS": str(tmp_path / "builds"),
           "HARNESS_LOCAL_WORKDIR": str(tmp_path / "device"), "HARNESS_GATE_RUNS": "2", "HARNESS_GATE_ID": "t1",
           "HARNESS_GATE_OUT": str(tmp_path / "out"), "HARNESS_GATE_WORKLOADS": "workloads/tiny.yaml",
           "PATH": f"{harness_bin.parent}{os.pathsep}{os.environ.get('PATH', '')}", "COLUMNS": "200"}
    proc = subprocess.run(["bash", str(CI / "harness-gate.sh"), str(tmp_path / "base"), str(tmp_path / "change")],
                          capture_output=True, text=True, env=env, timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "out" / "compare.json").read_text())
    lat = next(r for r in doc["rows"] if r["metric"] == "latency_ms@b1")
    assert (lat["runs_a"], lat["runs_b"]) == (2, 2) and doc["exit_code"] == 0  # two interleaved runs per side
    md = (tmp_path / "out" / "compare.md").read_text()
    assert "build gate-t1-A (2 runs) → build gate-t1-B (2 runs)" in md
    assert cmarkgfm.github_flavored_markdown_to_html(md).count("<table>") >= 1
