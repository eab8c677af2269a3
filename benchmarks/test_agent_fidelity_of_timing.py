"""Does the agent measure what a bare loop measures? And what does orchestration cost?

1. The agent's median latency for a model vs a bare ``session.run`` loop timed with
   perf_counter in the same process, interleaved in rounds so drift hits both alike.
   Target: the ratio is within 2 % of 1.
2. Orchestration overhead of a local run: (wall time - time the agent spent measuring)
   / wall time, for a real `harness run`-equivalent launch on the local device.
Both are reported in extra_info and printed; they are measurements, not asserts.
"""

from __future__ import annotations

import json
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from benchmarks.agent_module import load_agent
from tests.helpers import tiny_mlp

ROUNDS = 5


def _bare_loop(sess: ort.InferenceSession, feeds: dict[str, np.ndarray], seconds: float) -> list[float]:
    out = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        sess.run(None, feeds)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def test_agent_median_matches_bare_loop(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    agent = load_agent("harness_agent_bench")
    model = tiny_mlp(tmp_path / "m.onnx", width=768)
    feeds = {"x": np.random.default_rng(0).random((8, 768), dtype=np.float32)}
    np.savez(tmp_path / "in.npz", **{"/x": feeds["x"]})
    job = {"protocol": 1, "kind": "single", "models": {"model": str(model)}, "inputs": str(tmp_path / "in.npz"),
           "params": {}, "provider": "CPUExecutionProvider", "provider_options": {},
           "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
           "measure": {"warmup": 5, "warmup_s": 0.1, "min_iterations": 50, "min_seconds": 0.4, "max_seconds": 2},
           "out_dir": str(tmp_path / "out"), "save_outputs": False}
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    for _ in range(20):
        sess.run(None, feeds)

    def one_round() -> tuple[float, float]:
        result = agent.run_job(job)
        assert result["status"] == "ok", result["error"]
        agent_med = statistics.median(result["series"]["latency_ms"]["samples"])
        bare_med = statistics.median(_bare_loop(sess, feeds, 0.4))
        return agent_med, bare_med

    rounds = 1 if benchmark.disabled else ROUNDS  # timing off (CI): one round proves the path
    pairs = benchmark.pedantic(lambda: [one_round() for _ in range(rounds)], rounds=1, iterations=1)
    ratio = statistics.median(a / b for a, b in pairs)
    benchmark.extra_info.update(agent_over_bare_median_ratio=ratio, rounds=pairs)
    print(f"\nagent median / bare session.run median = {ratio:.4f} (target within 0.98..1.02) over {rounds} rounds")


def test_orchestration_overhead_of_a_local_run(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from harness.plan import Filters
    from harness.results.store import Store
    from harness.session.launch import RunRequest, execute, prepare_run

    window = 0.1 if benchmark.disabled else 1.0  # timing off (CI): a short window proves the accounting
    wl_dir = tmp_path / "workloads"
    wl_dir.mkdir()
    tiny_mlp(wl_dir / "m.onnx", width=256)
    (wl_dir / "w.yaml").write_text(
        "name: bench\nkind: generic\nmodel: {path: m.onnx}\ninputs: [{name: x, shape: [batch, 256]}]\n"
        "dims: {batch: 1}\nprecisions: [fp32, int8]\n"
        f"measure: {{warmup: 3, warmup_s: 0.1, min_iterations: 20, min_seconds: {window}, max_seconds: 3}}\n"
    )
    store = Store(tmp_path / "s.db")
    req = RunRequest(filters=Filters(device=("local",)), workloads_dir=wl_dir, builds_root=tmp_path / "builds")
    execute(prepare_run(req, store))  # build, fp32 reference and device cache warm: steady-state cost next

    def one_run() -> tuple[float, float]:
        t0 = time.monotonic()
        prep = prepare_run(req, store)
        outcome = execute(prep)
        wall = time.monotonic() - t0
        measured = sum(d.measure_s for d in outcome.devices.values())
        return wall, measured

    wall, measured = benchmark.pedantic(one_run, rounds=1, iterations=1)
    overhead = (wall - measured) / wall
    benchmark.extra_info.update(wall_s=wall, agent_measuring_s=measured, overhead_fraction=overhead)
    print(f"\nlocal run: wall {wall:.2f} s, agent measuring {measured:.2f} s, orchestration overhead "
          f"{overhead:.1%} of wall time ({json.dumps({'cells': 2})})")
