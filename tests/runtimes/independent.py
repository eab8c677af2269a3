"""An independent run of one runtime's own API on a harness artifact (the check of its rel-L2).

Run as a script: ``python independent.py RUNTIME MANIFEST_ENTRY_JSON INPUTS_NPZ OUT_NPZ``. It reads
the artifact files and their tensor names from the manifest entry, and applies the precision's
settings as a user of that runtime would write them; nothing from the harness package is imported.
"""

from __future__ import annotations

import json
import sys

import numpy as np


def ncnn_run(entry, build, feeds):
    import ncnn

    net = ncnn.Net()
    net.opt.use_vulkan_compute = False
    net.opt.num_threads = 1
    for key, value in entry["settings"].items():
        setattr(net.opt, key, value)
    net.load_param(build + "/" + entry["files"]["model"]["path"])
    net.load_model(build + "/" + entry["files"]["weights"]["path"])
    x = feeds[entry["io"]["inputs"][0]["onnx"]]
    rows = []
    for i in range(x.shape[0]):
        ex = net.create_extractor()
        ex.input("in0", ncnn.Mat(np.ascontiguousarray(x[i])))
        _, out = ex.extract("out0")
        rows.append(np.array(out))
    return np.stack(rows)


def mnn_run(entry, build, feeds):
    import MNN

    rt = MNN.nn.create_runtime_manager(({"precision": entry["settings"].get("precision", "high"), "numThread": 1},))
    names = [t["onnx"] for t in entry["io"]["inputs"]]
    outs = [t["onnx"] for t in entry["io"]["outputs"]]
    net = MNN.nn.load_module_from_file(build + "/" + entry["files"]["model"]["path"], names, outs, runtime_manager=rt)
    x = feeds[names[0]]
    y = net.forward([MNN.expr.const(x, list(x.shape), MNN.expr.NCHW)])
    return np.array(y[0].read())


def openvino_run(entry, build, feeds):
    import openvino as ov

    config = {"INFERENCE_NUM_THREADS": 1, "PERFORMANCE_HINT": "LATENCY", **entry["settings"]}
    compiled = ov.Core().compile_model(build + "/" + entry["files"]["model"]["path"], "CPU", config)
    return np.array(compiled(feeds)[0])


def litert_run(entry, build, feeds):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=build + "/" + entry["files"]["model"]["path"], num_threads=1)
    x = np.transpose(feeds[entry["io"]["inputs"][0]["onnx"]], (0, 2, 3, 1)).copy()  # NHWC after onnx2tf
    d = interp.get_input_details()[0]
    interp.resize_tensor_input(d["index"], list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(d["index"], x)
    interp.invoke()
    return interp.get_tensor(interp.get_output_details()[0]["index"])


RUN = {"ncnn": ncnn_run, "mnn": mnn_run, "openvino": openvino_run, "litert": litert_run}

if __name__ == "__main__":
    runtime, entry_json, build, inputs, out = sys.argv[1:6]
    entry = json.loads(entry_json)
    with np.load(inputs) as z:
        sets = {}
        for key in z.files:
            label, _, name = key.rpartition("/")
            sets.setdefault(label, {})[name] = z[key]
    name = entry["io"]["outputs"][0]["onnx"]
    np.savez(out, **{f"{label}/{name}": RUN[runtime](entry, build, feeds) for label, feeds in sets.items()})
