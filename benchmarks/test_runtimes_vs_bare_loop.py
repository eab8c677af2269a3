"""Each runtime's median latency in `harness run` against a bare loop over its own API.

One CNN (image-resnet, 224x224, batch 1, fp32, 1 thread) goes through `harness run` with a backend of
every runtime installed here (ONNX Runtime, ncnn, MNN, OpenVINO, and LiteRT where its converter is), and a
bare loop per runtime in a fresh process times the same artifact the run measured (from the build
manifest) on the same inputs with the same warm-up. Rounds alternate the two (A B, B A, ...) so drift
hits both alike. Target: the ratio harness / bare loop within 0.97..1.03 per runtime; reported (printed
and in extra_info), never asserted: timings on a shared host are not a test.
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

from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload
from harness.results.store import Store
from harness.runtimes.registry import get_runtime

ROUNDS = 3
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
warm_end = time.perf_counter() + 0.2  # the workload's warm-up: 5 runs and at least 0.2 s
for i in range(1000000):
    if i >= 5 and time.perf_counter() >= warm_end:
        break
    run()
samples, end = [], time.perf_counter() + seconds
while time.perf_counter() < end or len(samples) < 30:
    t0 = time.perf_counter(); run(); samples.append((time.perf_counter() - t0) * 1000)
print(json.dumps({"median_ms": statistics.median(samples)}))
"""


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
    seconds = 1.5 if not benchmark.disabled else 0.3

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

    harness_run()  # the build, the conversions and the fp32 reference, once
    build_dir = next(p for p in (tmp_path / "builds").iterdir() if p.is_dir() and not p.name.startswith("."))
    entry = load_manifest(build_dir).workloads["cnn"]
    arrays = make_job_inputs(load_workload(wl_path), entry, build_dir, wl_path).arrays
    np.savez(tmp_path / "feeds.npz", x=arrays["b1/pixel_values"])  # the very inputs the run used

    def artifact(runtime: str) -> tuple[str, str]:
        files = entry.precisions["fp32"].files if runtime == "onnxruntime" else entry.runtimes[runtime]["fp32"].files
        weights = files.get("weights")
        return str(build_dir / files["model"].path), str(build_dir / weights.path) if weights else ""

    def loops() -> dict[str, float]:
        out = {}
        for r in runtimes:
            path, extra = artifact(r)
            res = subprocess.run([sys.executable, "-c", LOOP, r, path, extra, str(tmp_path / "feeds.npz"),
                                  str(seconds)], capture_output=True, text=True, check=True, timeout=300)
            out[r] = float(json.loads(res.stdout.strip().splitlines()[-1])["median_ms"])
        return out

    n_rounds = ROUNDS if not benchmark.disabled else 1

    def rounds() -> list[tuple[dict[str, float], dict[str, float]]]:
        pairs = []
        for i in range(n_rounds):  # A B, B A, A B
            if i % 2 == 0:
                ran = harness_run()
                alone = loops()
            else:
                alone = loops()
                ran = harness_run()
            pairs.append((ran, alone))
        return pairs

    pairs = benchmark.pedantic(rounds, rounds=1, iterations=1)
    ratios = {r: statistics.median(h[r] / lp[r] for h, lp in pairs) for r in runtimes}
    benchmark.extra_info.update(ratios=ratios, rounds=pairs)
    print("\nharness run / bare loop, median latency at 1 thread (target 0.97..1.03): "
          + ", ".join(f"{r} {v:.3f}" for r, v in ratios.items()) + f" over {n_rounds} round(s): {pairs}")
    assert set(ratios) == set(runtimes)
