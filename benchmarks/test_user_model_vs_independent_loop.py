"""Honest numbers on a user's model: `harness run` against an independent single-session loop.

One user model (a 2-layer MLP with 32 MB of weights, given by path) goes through `harness run`
on the local device, and, in the same process tree, a plain onnxruntime loop in a fresh
process times the same inputs with the same thread settings and warm-up and reads its own VmHWM. Rounds
alternate the two so drift hits both alike. Targets: peak memory within 5 % (the peak is the
measured session's alone, read before the EP-placement session exists; two sessions overstated
it 25-50 %, *measured*) and median latency within 5 %. Both ratios are printed and kept in
extra_info; memory is asserted (it is not a timing), latency is reported only.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload
from harness.results.store import Store
from tests.helpers import tiny_mlp

ROUNDS = 3
WIDTH = 2048
WORKLOAD = """\
name: mlp
kind: generic
model: {{path: mlp.onnx}}
inputs: [{{name: x, shape: [batch, {WIDTH}], range: [-1, 1]}}]
batch_sizes: [8]
precisions: [fp32]
measure: {{warmup: 5, warmup_s: 0.2, min_iterations: 50, min_seconds: {window}, max_seconds: 5}}
"""
DEVICE = ("name: here\ntransport: {{kind: local, workdir: {workdir}}}\nthreads: {{intra_op: 1, inter_op: 1}}\n"
          "backends: [{{name: cpu, provider: CPUExecutionProvider}}]\n")

LOOP = """
import json, statistics, sys, time
import numpy as np, onnxruntime as ort
feeds = {"x": np.load(sys.argv[2])["x"]}
so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
sess = ort.InferenceSession(sys.argv[1], so, providers=["CPUExecutionProvider"])
warm_end = time.perf_counter() + 0.2  # the workload's warm-up: 5 runs and at least 0.2 s
for i in range(1000000):
    if i >= 5 and time.perf_counter() >= warm_end:
        break
    sess.run(None, feeds)
samples, end = [], time.perf_counter() + float(sys.argv[3])
while time.perf_counter() < end or len(samples) < 50:
    t0 = time.perf_counter(); sess.run(None, feeds); samples.append((time.perf_counter() - t0) * 1000)
hwm = [int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")][0] / 1024.0
print(json.dumps({"median_ms": statistics.median(samples), "peak_mb": hwm}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_harness_run_matches_an_independent_loop(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    wl_path = tmp_path / "user" / "mlp.yaml"
    tiny_mlp(wl_path.parent / "mlp.onnx", width=WIDTH)
    window = 0.3 if benchmark.disabled else 1.5  # timing off (CI): the memory check needs no long window
    wl_path.write_text(WORKLOAD.format(window=window, WIDTH=WIDTH))
    device = tmp_path / "here.yaml"
    device.write_text(DEVICE.format(workdir=tmp_path / "device"))
    store_path = tmp_path / "store.db"
    env = dict(os.environ, HARNESS_STORE=str(store_path), HARNESS_BUILDS=str(tmp_path / "builds"))

    contention: list[float] = []

    def harness_run() -> tuple[float, float]:
        proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(device), "-w", str(wl_path),
                               "--no-report"], capture_output=True, text=True, env=env, timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        store = Store(store_path)
        run_id = store.list_runs()[0]["run_id"]
        m = store.metrics_frame([run_id]).set_index("metric")["value"]
        store.close()
        contention.append(float(m["host_contention_cores"]))
        return float(m["latency_ms@b8"]), float(m["peak_rss_mb"])

    harness_run()  # the build and the fp32 reference, once
    # a build folder, not builds/.objects (the shared artifacts)
    build_dir = next(p for p in (tmp_path / "builds").iterdir() if p.is_dir() and not p.name.startswith("."))
    wl = load_workload(wl_path)
    arrays = make_job_inputs(wl, load_manifest(build_dir).workloads["mlp"], build_dir, wl_path).arrays
    np.savez(tmp_path / "feeds.npz", x=arrays["b8/x"])  # the very inputs the run used

    def loop() -> tuple[float, float]:
        out = subprocess.run([sys.executable, "-c", LOOP, str(wl_path.parent / "mlp.onnx"), str(tmp_path / "feeds.npz"),
                              str(window)], capture_output=True, text=True, check=True, timeout=300).stdout
        doc = json.loads(out)
        return float(doc["median_ms"]), float(doc["peak_mb"])

    n_rounds = ROUNDS if not benchmark.disabled else 1  # timing off (CI): the memory check needs one

    def rounds() -> list[tuple[tuple[float, float], tuple[float, float]]]:
        out = []
        for i in range(n_rounds):  # A B, B A, A B: drift hits both alike
            if i % 2 == 0:
                ran = harness_run()
                alone = loop()
            else:
                alone = loop()
                ran = harness_run()
            out.append((ran, alone))
        return out

    pairs = benchmark.pedantic(rounds, rounds=1, iterations=1)
    latency = statistics.median(h[0] / lp[0] for h, lp in pairs)
    memory = statistics.median(h[1] / lp[1] for h, lp in pairs)
    benchmark.extra_info.update(latency_ratio=latency, peak_memory_ratio=memory, rounds=pairs,
                                host_contention_cores=contention)
    print(f"\nharness run / independent loop: median latency {latency:.3f}, peak memory {memory:.3f} "
          f"(targets within 0.95..1.05) over {n_rounds} rounds: {pairs}; other processes took "
          f"{', '.join(f'{c:.2f}' for c in contention)} cores during the runs (a loaded host moves latency, not memory)")
    assert 0.95 <= memory <= 1.05, pairs
