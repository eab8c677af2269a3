"""Python agent vs native runner on the built-in models (measurements, not asserts).

1. One interleaved pass over the 20-cell default matrix (4 workloads x 5 precisions, CPU EP, each
   YAML's measure settings): per cell the agent and the native runner run back to back, the order
   alternating (A B, B A, ...) so drift cancels. Reported: the median latency ratio native/python
   over every series (expect 1.00 +- 2 %: same ORT, same kernels), process start -> first inference
   per cell (spawn to the runner's idle window + session creation + first inference), peak memory
   (VmHWM of the measured session; native lower by the interpreter).
2. The same matrix through `harness run`'s path (a cached build: its references computed beforehand),
   once with `devices/local.yaml` (agent) and once with
   `devices/local-native.yaml` (native): wall time and orchestration overhead
   ((wall - sum of measured time) / wall); target <= 10 % with the native runner.
Run: .venv/bin/pytest benchmarks/test_native_runner.py --benchmark-enable -s   (about 10 minutes)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from harness.builds.builder import build
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.builds.runner import build_runner, runners_root
from harness.config.loader import load_workloads
from harness.plan import Filters
from harness.results.store import Store
from harness.session.host_cache import HostCache
from harness.session.jobs import agent_source
from harness.session.launch import RunRequest, execute, prepare_run

ROOT = Path(__file__).resolve().parents[1]
THREADS = {"intra_op_num_threads": 2, "inter_op_num_threads": 1}  # as devices/local*.yaml


def _cell_jobs(build_dir: Path, tmp: Path) -> list[tuple[str, dict[str, Any]]]:
    man = load_manifest(build_dir)
    tmp.mkdir(parents=True, exist_ok=True)
    jobs = []
    for name, (wl, path) in sorted(load_workloads(ROOT / "workloads").items()):
        entry = man.workloads[name]
        ji = make_job_inputs(wl, entry, build_dir, path)
        npz = tmp / f"{name}.npz"
        np.savez(npz, **ji.arrays)
        for prec, pe in entry.precisions.items():
            jobs.append((f"{name}/{prec}", {
                "protocol": 1, "kind": ji.kind, "inputs": str(npz), "params": ji.params, "session": THREADS,
                "models": {r: str(build_dir / a.path) for r, a in pe.files.items()},
                "measure": wl.measure.model_dump(), "idle_s": 0.001,
            }))
    return jobs


def _run_one(argv: list[str], job: dict[str, Any], out: Path) -> dict[str, Any]:
    out.mkdir(parents=True)
    job = {**job, "out_dir": str(out)}
    (out / "job.json").write_text(json.dumps(job))
    t_spawn = time.monotonic()  # the local device's CLOCK_MONOTONIC is the runner's clock too
    subprocess.run([*argv, str(out / "job.json")], check=True, capture_output=True)
    wall = time.monotonic() - t_spawn
    r = json.loads((out / "result.json").read_text())
    ready = r["windows"]["idle"][0] - t_spawn
    first_ms = next(iter(r["first_inference_ms"].values()))
    return {
        "wall_s": wall,
        "ready_s": ready,
        "to_first_inference_s": ready + sum(r["load_ms"].values()) / 1000 + first_ms / 1000,
        "peak_rss_mb": r["memory"]["peak_rss_mb"],
        "measure_s": r["measure_s"],
        "medians": {k: float(np.median(s["samples"])) for k, s in r["series"].items()},
    }


def _interleaved(build_dir: Path, native: list[str], tmp: Path) -> dict[str, Any]:
    agent = [sys.executable, str(agent_source())]
    cells: dict[str, dict[str, Any]] = {}
    for i, (cell, job) in enumerate(_cell_jobs(build_dir, tmp)):
        order = [("python", agent), ("native", native)]
        got = {who: _run_one(argv, job, tmp / cell / who) for who, argv in (order if i % 2 == 0 else order[::-1])}
        cells[cell] = got
    pairs = [(got["python"]["medians"][s], got["native"]["medians"][s] / got["python"]["medians"][s])
             for got in cells.values() for s in got["python"]["medians"]]
    ratios = [r for _, r in pairs]
    # split by speed: a fixed per-call cost of Python's sess.run (binding, numpy conversions) would show
    # on the fast series only
    by_speed = {band: [r for ms, r in pairs if (ms < 1.0) == (band == "under 1 ms")] for band in ("under 1 ms",
                                                                                                 "1 ms and over")}
    return {
        "ratio_by_python_latency": {band: {"n": len(rs), "median": statistics.median(rs) if rs else None}
                                    for band, rs in by_speed.items()},
        "cells": len(cells),
        "series": len(ratios),
        "median_latency_ratio": statistics.median(ratios),
        "latency_ratio_p10_p90": [float(np.percentile(ratios, 10)), float(np.percentile(ratios, 90))],
        "to_first_inference_s": {w: statistics.median(g[w]["to_first_inference_s"] for g in cells.values())
                                 for w in ("python", "native")},
        "ready_s": {w: statistics.median(g[w]["ready_s"] for g in cells.values()) for w in ("python", "native")},
        "peak_rss_mb": {w: statistics.median(g[w]["peak_rss_mb"] for g in cells.values()) for w in ("python", "native")},
        # the runner process's own share of the overhead: start, placement session, outputs, exit
        "process_overhead": {w: 1 - sum(g[w]["measure_s"] for g in cells.values()) / sum(g[w]["wall_s"] for g in
                                                                                           cells.values())
                             for w in ("python", "native")},
        "peak_rss_saved_mb": statistics.median(g["python"]["peak_rss_mb"] - g["native"]["peak_rss_mb"]
                                               for g in cells.values()),
        "per_cell": {c: {w: {k: v for k, v in g[w].items() if k != "medians"} for w in g} for c, g in cells.items()},
    }


def _matrix_through_run(build_dir: Path, profile: Path, tmp: Path) -> dict[str, float]:
    store = Store(tmp / f"{profile.stem}.db")
    prep = prepare_run(RunRequest(filters=Filters(device=(profile.stem,)), build=str(build_dir), device_files=[profile],
                                  workloads_dir=ROOT / "workloads", builds_root=build_dir.parent), store)
    outcome = execute(prep)
    # a warm-up held for the next runner's start-up (the handoff) is overhead, not measurement
    held = sum(float(json.loads(r).get("held_s") or 0.0) for r in store.cells_frame([prep.run_id])["result_json"])
    measured = sum(d.measure_s for d in outcome.devices.values()) - held
    return {"cells": sum(outcome.statuses.values()), "ok": outcome.statuses.get("ok", 0), "wall_s": outcome.wall_s,
            "measured_s": measured, "held_s": held, "overhead": (outcome.wall_s - measured) / outcome.wall_s}


def _warm_host_outputs(build_dir: Path) -> None:
    """The host's outputs of every precision (fidelity and cross-platform references), cached beside
    the build: otherwise the first matrix run computes them (~7 s here) and the second only reads them."""
    manifest = load_manifest(build_dir)
    host = HostCache(build_dir, manifest)
    try:
        for workload, path in load_workloads(ROOT / "workloads").values():
            for precision in manifest.workloads[workload.name].precisions:
                host.host_outputs(workload, path, precision)
    finally:
        host.remove()


def test_python_agent_vs_native_runner(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    if benchmark.disabled:  # ~10 minutes: only with --benchmark-enable / tox -e bench
        pytest.skip("measurement only; run with --benchmark-enable")
    bundle = build_runner("linux-x86_64", runners_root())  # what devices/local-native.yaml names
    native = ["sh", str(bundle.path / "run.sh")]
    build_dir = build([w for w in load_workloads(ROOT / "workloads").values()], tmp_path / "builds")
    pair = benchmark.pedantic(_interleaved, args=(build_dir, native, tmp_path / "pair"), rounds=1, iterations=1)
    _warm_host_outputs(build_dir)  # both runs then find a cached build's references, as a second run would
    runs = {who: _matrix_through_run(build_dir, ROOT / "devices" / f"{profile}.yaml", tmp_path)
            for who, profile in (("python", "local"), ("native", "local-native"))}
    benchmark.extra_info.update({"interleaved": pair, "matrix": runs})
    lo, hi = pair["latency_ratio_p10_p90"]
    print(f"\ninterleaved, {pair['cells']} cells / {pair['series']} series: median latency ratio native/python "
          f"{pair['median_latency_ratio']:.3f} (p10 {lo:.3f}, p90 {hi:.3f})")
    for who in ("python", "native"):
        print(f"  {who:6s}: start -> first inference {pair['to_first_inference_s'][who] * 1000:.0f} ms "
              f"(start -> ready {pair['ready_s'][who] * 1000:.0f} ms), peak RSS {pair['peak_rss_mb'][who]:.1f} MB "
              f"(medians over cells); in-process overhead {pair['process_overhead'][who] * 100:.1f} % of its wall")
    print(f"  native saves {pair['peak_rss_saved_mb']:.1f} MB peak RSS per cell (median)")
    print("  ratio by the series' python median: " + ", ".join(
        f"{band} {v['median']:.3f} (n={v['n']})" for band, v in pair["ratio_by_python_latency"].items() if v["n"]))
    for who, r in runs.items():
        print(f"matrix via harness run, {who:6s}: {r['ok']}/{r['cells']} ok, wall {r['wall_s']:.1f} s, measured "
              f"{r['measured_s']:.1f} s (held {r['held_s']:.2f} s not counted), orchestration overhead "
              f"{r['overhead'] * 100:.1f} %")
