"""Each runtime's median latency as harness measures it against a bare loop over its own API.

One CNN (image-resnet, 224x224, batch 1, fp32, 1 thread) goes through `harness run` once with a backend
of every runtime installed here (ONNX Runtime, ncnn, MNN, OpenVINO, and LiteRT where its converter is):
the build, the conversions, the run's own medians. Then, per runtime, the harness's measurement (the
agent on a job.json as `harness run` writes it: same artifact, inputs, threads and stopping rule) and a
bare loop over the runtime's own API in a fresh process alternate in rounds (A B, B A, ...) so drift
hits both alike. Target: the median of the per-round ratios harness / bare loop within 0.97..1.03 per
runtime; reported (printed and in extra_info), never asserted: timings on a shared host are not a test.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from benchmarks.bare_loop import TIMED_RUNS
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_device, load_workload
from harness.results.store import Store
from harness.runtimes.registry import get_runtime
from harness.session.jobs import agent_source, build_job
from harness.session.runtime_cells import runtime_artifacts

ROUNDS = 8
WINDOW_S = 0.6  # each side's steady window per round
RUNTIMES = ["onnxruntime", "ncnn", "mnn", "openvino", "litert"]
WORKLOAD = {
    "name": "cnn", "kind": "image-classification",
    "model": {"builtin": "image-resnet", "options": {"widths": [32, 64, 128, 256], "blocks": 1, "image": 224,
                                                     "classes": 1000}},
    "batch_sizes": [1], "precisions": ["fp32"],
    "measure": {"warmup": 5, "warmup_s": 0.2, "min_iterations": 30, "min_seconds": 1.5, "max_seconds": 5},
}

LOOP = r"""
import json, statistics, sys, time
import numpy as np
runtime, path, extra, feeds_path, seconds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
x = np.load(feeds_path)["x"]
if runtime == "onnxruntime":
    import onnxruntime as ort
    so = ort.SessionOptions(); so.intra_op_num_threads = 1; so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    def run(): sess.run(None, {name: x})
elif runtime == "ncnn":
    import ncnn
    net = ncnn.Net(); net.opt.use_vulkan_compute = False; net.opt.num_threads = 1
    net.opt.use_fp16_storage = net.opt.use_fp16_packed = net.opt.use_fp16_arithmetic = False
    net.load_param(path); net.load_model(extra)
    mat = ncnn.Mat(np.ascontiguousarray(x[0]))
    def run():
        ex = net.create_extractor(); ex.input("in0", mat); _, out = ex.extract("out0"); np.array(out)
elif runtime == "mnn":
    import MNN
    rt = MNN.nn.create_runtime_manager(({"precision": "high", "numThread": 1, "backend": "CPU"},))
    net = MNN.nn.load_module_from_file(path, ["pixel_values"], ["logits"], runtime_manager=rt)
    inp = [MNN.expr.const(x, list(x.shape), MNN.expr.NCHW)]
    def run(): [o.read() for o in net.forward(inp)]
elif runtime == "openvino":
    import openvino as ov
    compiled = ov.Core().compile_model(path, "CPU", {"INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY",
                                                     "INFERENCE_PRECISION_HINT": "f32"})
    req = compiled.create_infer_request()
    feeds = {compiled.inputs[0].get_any_name(): x}
    def run(): req.infer(feeds)
else:
    from ai_edge_litert.interpreter import Interpreter
    interp = Interpreter(model_path=path, num_threads=1); interp.allocate_tensors()
    xi = np.ascontiguousarray(np.transpose(x, (0, 2, 3, 1)))
    i_idx = interp.get_input_details()[0]["index"]; o_idx = interp.get_output_details()[0]["index"]
    def run(): interp.set_tensor(i_idx, xi); interp.invoke(); interp.get_tensor(o_idx)
""" + TIMED_RUNS


def test_each_runtime_in_harness_matches_a_bare_loop_over_its_api(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runtimes = [r for r in RUNTIMES if get_runtime(r).converter_missing() is None]
    wl_path = tmp_path / "cnn.yaml"
    wl_path.write_text(yaml.safe_dump(WORKLOAD))
    device = tmp_path / "here.yaml"
    backends = [{"name": "ort", "provider": "CPUExecutionProvider"}] + [{"name": r, "runtime": r} for r in runtimes[1:]]
    device.write_text(yaml.safe_dump({"name": "here", "transport": {"kind": "local", "workdir": str(tmp_path / "dev")},
                                      "runner": {"kind": "python", "interpreter": sys.executable, "prestart": False},
                                      "threads": {"intra_op": 1, "inter_op": 1}, "backends": backends}))
    store_path = tmp_path / "store.db"
    env = dict(os.environ, HARNESS_STORE=str(store_path), HARNESS_BUILDS=str(tmp_path / "builds"))
    seconds = WINDOW_S if not benchmark.disabled else 0.2

    def harness_run() -> dict[str, float]:
        proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(device), "-w", str(wl_path),
                               "--no-report"], capture_output=True, text=True, env=env, timeout=1800)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        store = Store(store_path)
        run_id = store.list_runs()[0]["run_id"]
        m = store.metrics_frame([run_id])
        store.close()
        m = m[m.metric == "latency_ms@b1"]
        return {("onnxruntime" if b == "ort" else b): float(v) for b, v in zip(m["backend"], m["value"])}

    first_run = harness_run()  # the build, the conversions and the fp32 reference, once
    build_dir = next(p for p in (tmp_path / "builds").iterdir() if p.is_dir() and not p.name.startswith("."))
    entry = load_manifest(build_dir).workloads["cnn"]
    arrays = make_job_inputs(load_workload(wl_path), entry, build_dir, wl_path).arrays
    np.savez(tmp_path / "feeds.npz", x=arrays["b1/pixel_values"])  # the very inputs the run used

    def artifact(runtime: str) -> tuple[str, str]:
        files = entry.precisions["fp32"].files if runtime == "onnxruntime" else entry.runtimes[runtime]["fp32"].files
        weights = files.get("weights")
        return str(build_dir / files["model"].path), str(build_dir / weights.path) if weights else ""

    profile = load_device(device)
    measure = {"warmup": 5, "warmup_s": 0.2, "min_iterations": 30, "min_seconds": seconds, "max_seconds": 30}

    def in_harness(runtime: str, out: Path) -> float:
        """The agent on the job `harness run` writes for this cell (artifacts, runtime block, threads)."""
        backend = next(b for b in profile.backends if (b.provider and runtime == "onnxruntime") or b.runtime == runtime)
        files, job_runtime, _ = runtime_artifacts(entry, backend, "fp32", {})
        out.mkdir(parents=True, exist_ok=True)
        np.savez(out / "inputs.npz", **{"b1/pixel_values": arrays["b1/pixel_values"]})  # type: ignore[arg-type]
        job = build_job(kind="single", models={r: str(build_dir / a.path) for r, a in files.items()},
                        inputs=str(out / "inputs.npz"), params={}, backend=backend, threads=profile.threads,
                        measure=measure, out_dir=str(out), save_outputs=False, runtime=job_runtime)
        (out / "job.json").write_text(json.dumps(job))
        subprocess.run([sys.executable, str(agent_source()), str(out / "job.json")], check=True, timeout=300,
                       capture_output=True)
        result = json.loads((out / "result.json").read_text())
        assert result["status"] == "ok", result["error"]
        return float(statistics.median(result["series"]["latency_ms@b1"]["samples"]))

    def bare(runtime: str) -> float:
        path, extra = artifact(runtime)
        res = subprocess.run([sys.executable, "-c", LOOP, runtime, path, extra, str(tmp_path / "feeds.npz"),
                              str(seconds)], capture_output=True, text=True, check=True, timeout=300)
        # a runtime may print its own lines after ours (MNN's "MNN use high precision" at teardown)
        line = next(ln for ln in reversed(res.stdout.splitlines()) if ln.startswith('{"median_ms"'))
        return float(json.loads(line)["median_ms"])

    n_rounds = ROUNDS if not benchmark.disabled else 1

    def rounds() -> dict[str, list[tuple[float, float]]]:
        pairs: dict[str, list[tuple[float, float]]] = {r: [] for r in runtimes}
        for i in range(n_rounds):
            for r in runtimes:  # A B, B A, ...: drift hits both alike
                out = tmp_path / "jobs" / f"{r}-{i}"
                if i % 2 == 0:
                    a = in_harness(r, out)
                    b = bare(r)
                else:
                    b = bare(r)
                    a = in_harness(r, out)
                pairs[r].append((a, b))
        return pairs

    pairs = benchmark.pedantic(rounds, rounds=1, iterations=1)
    ratios = {r: statistics.median(a / b for a, b in pairs[r]) for r in runtimes}
    benchmark.extra_info.update(ratios=ratios, rounds=pairs, harness_run_medians=first_run)
    print("\nharness / bare loop, median latency at 1 thread (target 0.97..1.03), median of "
          f"{n_rounds} interleaved round(s): " + ", ".join(f"{r} {v:.3f}" for r, v in ratios.items())
          + f"; the harness run's own medians (ms): {first_run}; rounds: {pairs}")
    assert set(ratios) == set(runtimes)
