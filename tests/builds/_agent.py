"""Run the real agent (a subprocess, as on a device) on a build's artifacts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from harness.builds.inputs import JobInputs
from harness.builds.manifest import WorkloadEntry, verify_artifact

AGENT = Path(__file__).resolve().parents[2] / "harness" / "agent" / "agent.py"
FAST = {"warmup": 1, "warmup_s": 0.0, "min_iterations": 2, "min_seconds": 0.0, "max_seconds": 1.0}


def run_agent(build_dir: Path, entry: WorkloadEntry, precision: str, ji: JobInputs, out: Path, measure=None):
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "inputs.npz", **ji.arrays)
    models = {role: str(verify_artifact(build_dir, art)) for role, art in entry.precisions[precision].files.items()}
    job = {
        "protocol": 1,
        "kind": ji.kind,
        "models": models,
        "inputs": str(out / "inputs.npz"),
        "params": ji.params,
        "session": {"intra_op_num_threads": 1},
        "measure": measure or FAST,
        "out_dir": str(out),
    }
    (out / "job.json").write_text(json.dumps(job))
    proc = subprocess.run([sys.executable, str(AGENT), str(out / "job.json")], capture_output=True, text=True)
    result = json.loads((out / "result.json").read_text())
    assert result["status"] == "ok", (result["error"], result["traceback"], proc.stderr[-2000:])
    with np.load(out / "outputs.npz") as z:
        outputs = {k: z[k] for k in z.files}
    return result, outputs
