"""How long do the built-in workloads take? (measurements, not asserts)

1. `build()` of workloads/*.yaml at all five precisions, then the same call again (reuse):
   target "reused instantly" -> reuse / build ratio.
2. The whole matrix on this machine's CPU EP: the real agent (a subprocess, as on a device)
   over every workload x precision with each YAML's measure settings; target <= ~4 min
   including the build. Per-cell wall times go in extra_info.
Run: .venv/bin/pytest benchmarks/test_builtin_matrix.py --benchmark-enable -s
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from harness.builds.builder import build
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workloads

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "harness" / "agent" / "agent.py"


def _run_matrix(build_dir: Path, tmp: Path) -> dict[str, float]:
    man = load_manifest(build_dir)
    walls = {}
    for name, (wl, path) in sorted(load_workloads(ROOT / "workloads").items()):
        entry = man.workloads[name]
        ji = make_job_inputs(wl, entry, build_dir, path)
        tmp.mkdir(parents=True, exist_ok=True)
        npz = tmp / f"{name}.npz"
        np.savez(npz, **ji.arrays)
        for prec, pe in entry.precisions.items():
            out = tmp / name / prec
            out.mkdir(parents=True)
            job = {
                "protocol": 1,
                "kind": ji.kind,
                "models": {r: str(build_dir / a.path) for r, a in pe.files.items()},
                "inputs": str(npz),
                "params": ji.params,
                "session": {"intra_op_num_threads": 2},
                "measure": wl.measure.model_dump(),
                "out_dir": str(out),
            }
            (out / "job.json").write_text(json.dumps(job))
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(AGENT), str(out / "job.json")], check=True, capture_output=True)
            walls[f"{name}/{prec}"] = time.perf_counter() - t0
    return walls


def test_builtin_build_reuse_and_matrix_wall(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if benchmark.disabled:  # a ~1-2 minute measurement: only with --benchmark-enable / tox -e bench
        pytest.skip("measurement only; run with --benchmark-enable")
    workloads = list(load_workloads(ROOT / "workloads").values())
    t0 = time.perf_counter()
    build_dir = build(workloads, tmp_path / "builds")
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    assert build(workloads, tmp_path / "builds") == build_dir
    reuse_s = time.perf_counter() - t0
    walls = benchmark.pedantic(_run_matrix, args=(build_dir, tmp_path / "runs"), rounds=1, iterations=1)
    total = sum(walls.values())
    benchmark.extra_info.update(
        {
            "build_s": build_s,
            "reuse_s": reuse_s,
            "reuse_over_build": reuse_s / build_s,
            "cells": len(walls),
            "agent_wall_s": total,
            "build_plus_agent_s": build_s + total,
            "per_cell_s": walls,
        }
    )
    print(
        f"\nbuild {build_s:.1f}s, reuse {reuse_s * 1000:.1f} ms (ratio {reuse_s / build_s:.2e}); "
        f"{len(walls)} cells: agent wall {total:.1f}s; build + agent {build_s + total:.1f}s"
    )
