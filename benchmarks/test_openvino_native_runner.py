"""OpenVINO in the native runner (bundle openvino-linux-x86_64) against the Python agent's adapter and
a bare loop over OpenVINO's Python API, on the same CNN (image-resnet 224x224, batch 1, fp32 with
INFERENCE_PRECISION_HINT f32, 1 thread), the same job and inputs.

Per round the three run back to back, the order rotating so drift hits all alike. Reported (printed
and in extra_info), never asserted: the median of per-round ratios native / agent and native / bare
loop (target 1.00 +- 3 % at this size, where a call's Python overhead is negligible), each side's
load time, and the outputs' rel-L2 native vs agent (expected 0: the same library and kernels).
Run: .venv/bin/pytest benchmarks/test_openvino_native_runner.py --benchmark-enable -s   (about 3 minutes)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bare_loop import TIMED_RUNS
from harness.builds.image import ResNetConfig, build_resnet
from harness.builds.runner import build_runner
from harness.session.jobs import agent_source

ROUNDS = 6
LOOP = r"""
import json, statistics, sys, time
import numpy as np, openvino as ov
path, feeds, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
x = np.load(feeds)["b1/pixel_values"]
compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY",
                                                 "INFERENCE_PRECISION_HINT": "f32"})
req = compiled.create_infer_request()
req.set_input_tensor(ov.Tensor(x, shared_memory=True))
def run(): req.infer()
""" + TIMED_RUNS


def test_openvino_native_runner_vs_agent_and_bare_loop(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bundle = build_runner("linux-x86_64", runtimes=("openvino",))  # builds/runners/openvino-linux-x86_64 (cached)
    model = tmp_path / "cnn.onnx"
    model.write_bytes(build_resnet(ResNetConfig(), seed=0).SerializeToString())
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    np.savez(tmp_path / "feeds.npz", **{"b1/pixel_values": x})  # type: ignore[arg-type]
    seconds = 1.5 if not benchmark.disabled else 0.2
    runtime = {"name": "openvino", "options": {"num_threads": 1}, "settings": {"INFERENCE_PRECISION_HINT": "f32"},
               "io": {"inputs": [{"onnx": "pixel_values", "artifact": "pixel_values"}],
                      "outputs": [{"onnx": "logits", "artifact": "logits"}]}}
    measure = {"warmup": 5, "warmup_s": 0.2, "min_iterations": 30, "min_seconds": seconds, "max_seconds": 30}

    def job_run(argv: list[str], out: Path) -> dict[str, Any]:
        out.mkdir(parents=True, exist_ok=True)
        job = {"protocol": 1, "kind": "single", "models": {"model": str(model)}, "inputs": str(tmp_path / "feeds.npz"),
               "params": {}, "session": {"intra_op_num_threads": 1, "inter_op_num_threads": 1},
               "measure": measure, "out_dir": str(out), "runtime": runtime}
        (out / "job.json").write_text(json.dumps(job))
        subprocess.run([*argv, str(out / "job.json")], check=True, timeout=600, capture_output=True)
        result = json.loads((out / "result.json").read_text())
        assert result["status"] == "ok", result["error"]
        with np.load(out / "outputs.npz") as z:
            y = z["b1/logits"]
        return {"median_ms": statistics.median(result["series"]["latency_ms@b1"]["samples"]),
                "load_ms": result["load_ms"]["model"], "peak_rss_mb": result["memory"]["peak_rss_mb"], "y": y}

    def bare() -> dict[str, Any]:
        res = subprocess.run([sys.executable, "-c", LOOP, str(model), str(tmp_path / "feeds.npz"), str(seconds)],
                             capture_output=True, text=True, check=True, timeout=600)
        line = next(ln for ln in reversed(res.stdout.splitlines()) if ln.startswith('{"median_ms"'))
        return json.loads(line)

    sides = {
        "native": lambda i: job_run(["sh", str(bundle.path / "run.sh")], tmp_path / f"native-{i}"),
        "agent": lambda i: job_run([sys.executable, str(agent_source())], tmp_path / f"agent-{i}"),
        "bare": lambda i: bare(),
    }
    n_rounds = ROUNDS if not benchmark.disabled else 1

    def rounds() -> list[dict[str, dict[str, Any]]]:
        out = []
        order = list(sides)
        for i in range(n_rounds):
            got = {name: sides[name](i) for name in order[i % 3:] + order[:i % 3]}  # rotate who goes first
            out.append(got)
        return out

    got = benchmark.pedantic(rounds, rounds=1, iterations=1)
    ratio = {f"native/{o}": statistics.median(r["native"]["median_ms"] / r[o]["median_ms"] for r in got)
             for o in ("agent", "bare")}
    ref = got[0]["agent"]["y"].astype(np.float64)
    rel = float(np.linalg.norm(ref - got[0]["native"]["y"]) / np.linalg.norm(ref))
    medians = {s: [round(r[s]["median_ms"], 3) for r in got] for s in sides}
    extra = {"ratios": ratio, "medians_ms": medians, "rel_l2_native_vs_agent": rel,
             "load_ms": {s: statistics.median(r[s]["load_ms"] for r in got) for s in ("native", "agent")},
             "peak_rss_mb": {s: statistics.median(r[s]["peak_rss_mb"] for r in got) for s in ("native", "agent")}}
    benchmark.extra_info.update(extra)
    print(f"\nOpenVINO, image-resnet 224 fp32 (f32 hint), 1 thread, {n_rounds} rotated round(s): "
          + json.dumps(extra, indent=1))
    assert rel <= 1e-6
