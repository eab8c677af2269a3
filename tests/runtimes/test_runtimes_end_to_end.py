"""`harness run` with a backend of every runtime on a small CNN: each cell ok or skipped with its
reason, and each runtime cell's rel-L2 vs ONNX Runtime fp32 equal to an independent script's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import yaml

from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload
from harness.results.store import Store
from harness.runtimes.registry import RUNTIMES, get_runtime

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
WORKLOAD = {
    "name": "tiny-cnn", "kind": "image-classification",
    "model": {"builtin": "image-resnet", "options": {"image": 32, "widths": [8, 16], "classes": 10}},
    "batch_sizes": [1, 2], "precisions": ["fp32", "fp16", "int8"],
    "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.02, "max_seconds": 0.3},
}
PROFILE = {
    "name": "rt-local", "transport": {"kind": "local"},
    "runner": {"kind": "python", "interpreter": sys.executable},  # prestart: on, but off for such a profile
    "threads": {"intra_op": 1, "inter_op": 1},
    "backends": [{"name": "ort", "provider": "CPUExecutionProvider"}]
    + [{"name": f"{n}-cpu", "runtime": n} for n in RUNTIMES if n != "onnxruntime"],
}


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Store, str]:
    root = tmp_path_factory.mktemp("runtimes")
    (root / "wl.yaml").write_text(yaml.safe_dump(WORKLOAD))
    # a workdir of its own: the local device's default one is locked by any other run on this host
    profile = {**PROFILE, "transport": {"kind": "local", "workdir": str(root / "device")}}
    (root / "dev.yaml").write_text(yaml.safe_dump(profile))
    env = {**os.environ, "HARNESS_BUILDS": str(root / "builds"), "HARNESS_HOME": str(root)}
    db = root / "store.db"
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(root / "dev.yaml"), "-w",
                           str(root / "wl.yaml"), "--store", str(db), "--no-report"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    store = Store(str(db))
    run_id = store.cells_frame()["run_id"].iloc[0]
    return root, store, run_id


@pytest.mark.slow
def test_every_runtime_cell_is_ok_or_skipped_with_its_reason(ran: tuple[Path, Store, str]) -> None:
    _, store, _ = ran
    cells = store.cells_frame()
    assert set(cells["status"]) <= {"ok", "skipped"}, cells[["backend", "precision", "status", "error"]]
    assert len(cells) == len(PROFILE["backends"]) * 3
    for row in cells.itertuples():
        if row.status == "skipped":
            assert row.error and len(row.error) > 20
    ok = set(zip(cells.loc[cells.status == "ok", "backend"], cells.loc[cells.status == "ok", "precision"]))
    for name in ("ncnn", "mnn", "openvino", "litert"):
        rt = get_runtime(name)
        missing = rt.converter_missing()  # LiteRT's is an extra; pnnx goes in --no-deps (tox does it)
        for precision in ("fp32", "fp16", "int8"):  # every precision the runtime makes is measured
            assert ((f"{name}-cpu", precision) in ok) == (rt.cannot_make(precision) is None and missing is None)
        if missing:  # its cells say what to install
            errors = cells.loc[cells.backend == f"{name}-cpu", "error"]
            assert all(e == missing or e.startswith(f"{name} cannot make") for e in errors)
    assert get_runtime("mnn").converter_missing() is get_runtime("openvino").converter_missing() is None  # test extra
    # no runner was started before its cell: it would have imported ONNX Runtime before knowing its job
    assert not any("handoff" in json.loads(r) for r in cells.loc[cells.status == "ok", "result_json"])
    skipped = cells[(cells.backend == "ncnn-cpu") & (cells.precision == "int8")]
    assert skipped["error"].iloc[0].startswith("ncnn cannot make int8: ")  # before any converter question


def _rel_l2(ref: np.ndarray, got: np.ndarray) -> float:
    return float(np.linalg.norm(ref.astype(np.float64) - got) / np.linalg.norm(ref.astype(np.float64)))


@pytest.mark.slow
def test_rel_l2_of_each_runtime_cell_equals_an_independent_run_of_its_own_api(ran: tuple[Path, Store, str]) -> None:
    root, store, run_id = ran
    cells = store.cells_frame()
    build = Path(str(store.get_run(run_id)["labels"]["build_dir"]))
    manifest = load_manifest(build)
    entry = manifest.workloads["tiny-cnn"]
    wl = load_workload(root / "wl.yaml")
    arrays = make_job_inputs(wl, entry, build, root / "wl.yaml").arrays
    np.savez(root / "inputs.npz", **arrays)  # type: ignore[arg-type]
    fp32 = ort.InferenceSession(str(build / entry.precisions["fp32"].files["model"].path),
                                providers=["CPUExecutionProvider"])
    metrics = store.metrics_frame([run_id])
    checked = 0
    for row in cells[(cells.status == "ok") & (cells.backend != "ort")].itertuples():
        runtime = row.backend.removesuffix("-cpu")
        made = entry.runtimes[runtime][row.precision]
        out = root / f"{runtime}-{row.precision}.npz"
        subprocess.run([sys.executable, str(HERE / "independent.py"), runtime, json.dumps(made.model_dump()),
                        str(build), str(root / "inputs.npz"), str(out)], check=True, timeout=300)
        with np.load(out) as z:
            for key in z.files:
                label = key.split("/")[0]
                ref = fp32.run(None, {"pixel_values": arrays[f"{label}/pixel_values"]})[0]
                want = _rel_l2(ref, z[key])
                got = metrics[(metrics.cell_id == row.id) & (metrics.metric == f"rel_l2:{key}")]["value"]
                assert len(got) == 1, (row.backend, row.precision, key)
                assert got.iloc[0] == pytest.approx(want, rel=1e-6), (row.backend, row.precision, key)
                checked += 1
    assert checked >= 2 * 4  # (ncnn,) mnn, openvino at fp32 + fp16 (+ mnn int8), two batch sizes each


@pytest.mark.slow
def test_table_and_run_report_show_the_runtime(ran: tuple[Path, Store, str], tmp_path: Path) -> None:
    from harness.report.run_report import write_run_report

    root, store, run_id = ran
    proc = subprocess.run([sys.executable, "-m", "harness", "table", run_id, "--format", "markdown", "--store",
                           str(root / "store.db")], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    head = next(line for line in proc.stdout.splitlines() if line.startswith("| workload"))
    assert "| runtime |" in head and "× vs ORT fp32" in head
    assert any(line.startswith("| tiny-cnn | fp16 | openvino | openvino-cpu |") for line in proc.stdout.splitlines())
    html = write_run_report(store, run_id, tmp_path / "report").read_text()
    version = get_version("openvino")
    assert f"openvino {version} · openvino:CPU" in html and "f32 compute (INFERENCE_PRECISION_HINT=f32" in html


def get_version(dist: str) -> str:
    from importlib.metadata import version

    return version(dist)


@pytest.mark.slow
@pytest.mark.skipif(get_runtime("litert").converter_missing() is not None,
                    reason="LiteRT's converter is an extra (harness[litert] + scripts/install-litert-converter.sh)")
def test_litert_nhwc_tensors_are_mapped_back_and_said_so(tmp_path: Path) -> None:
    """A conv net whose 4-D output onnx2tf makes NHWC: compared in NCHW, at fp32 precision."""
    from onnx import TensorProto, helper, numpy_helper, save

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "W")
    graph = helper.make_graph([helper.make_node("Conv", ["x", "W"], ["y"], pads=[1, 1, 1, 1])], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    save(model, str(tmp_path / "conv.onnx"))
    (tmp_path / "conv.yaml").write_text(yaml.safe_dump({
        "name": "conv", "kind": "generic", "model": {"path": "conv.onnx"}, "precisions": ["fp32"],
        "inputs": [{"name": "x", "shape": [1, 3, 8, 8], "range": [-1, 1]}],
        "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.02, "max_seconds": 0.3}}))
    (tmp_path / "dev.yaml").write_text(yaml.safe_dump({
        "name": "d", "transport": {"kind": "local", "workdir": str(tmp_path / "dev")},
        "threads": {"intra_op": 1, "inter_op": 1}, "backends": [{"name": "lite", "runtime": "litert"}]}))
    env = {**os.environ, "HARNESS_BUILDS": str(tmp_path / "builds")}
    proc = subprocess.run([sys.executable, "-m", "harness", "run", "-d", str(tmp_path / "dev.yaml"), "-w",
                           str(tmp_path / "conv.yaml"), "--store", str(tmp_path / "s.db"), "--no-report"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    store = Store(str(tmp_path / "s.db"))
    cell = store.cells_frame().iloc[0]
    assert cell.status == "ok", cell.error
    assert json.loads(cell.result_json)["runtime"]["layouts_mapped"] == ["x: NHWC", "y: NHWC"]
    rel = store.metrics_frame().set_index("metric")["value"]["rel_l2"]
    assert rel < 1e-5
