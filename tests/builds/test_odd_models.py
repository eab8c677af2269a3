"""Users' models as third-party exporters write them, through the build: an opset-11 conv net,
weights inside If branches, an int64 scalar input, a fed-back state, unnamed dims."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from harness.builds import builder, calibration, variant_check
from harness.builds.convert import to_int8_dynamic
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload
from harness.config.models import Backend, DeviceProfile, Workload
from harness.plan import make_plan
from tests.odd_models import VAD_WORKLOAD, conv_net, stateful_vad, two_unnamed

CPU = [Backend(name="cpu", provider="CPUExecutionProvider")]


def _workload(folder: Path, text: str) -> tuple[Workload, Path]:
    path = folder / "workload.yaml"
    path.write_text(text)
    return load_workload(path), path


@pytest.fixture(scope="module")
def vad_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Workload, Path, Path]:
    folder = tmp_path_factory.mktemp("vad")
    stateful_vad(folder / "vad.onnx")
    wl, path = _workload(folder, VAD_WORKLOAD.format(precisions="[fp32, fp16, int8, int8-static]"))
    return wl, path, builder.build([(wl, path)], folder / "builds")


def test_opset11_conv_net_gets_a_loadable_int8_static(tmp_path: Path) -> None:
    conv_net(tmp_path / "conv.onnx", opset=11)
    wl, path = _workload(tmp_path, "name: conv11\nkind: generic\nmodel: {path: conv.onnx}\n"
                                   "inputs: [{name: x, shape: [N, 3, 16, 16]}]\nprecisions: [fp32, int8-static]\n")
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    entry = load_manifest(build_dir).workloads["conv11"]
    static = entry.precisions["int8-static"]
    assert static.check is not None and static.check.loaded and not static.check.unchanged, static.check
    assert static.converter["parameters"]["source_opset"] == 11 and static.converter["parameters"]["opset"] == 13
    assert static.converter["parameters"]["per_channel"] is True
    assert any("opset 11 converted to 13 first" in n for n in static.notes)
    model = onnx.load(str(build_dir / static.files["model"].path))
    assert any(n.op_type == "DequantizeLinear" for n in model.graph.node)
    sess = ort.InferenceSession(str(build_dir / static.files["model"].path), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"x": np.ones((1, 3, 16, 16), np.float32)})[0].shape == (1, 4, 16, 16)


def test_a_variant_ort_refuses_is_failed_in_the_manifest_and_its_cells_skipped(tmp_path: Path) -> None:
    """What an old opset-11 per-channel QDQ looks like when a user's CI pre-builds it."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, quantize_static

    conv_net(tmp_path / "conv.onnx", opset=11)
    feeds = [{"x": np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(np.float32)} for i in range(3)]
    class Reader:  # onnxruntime's CalibrationDataReader protocol
        def __init__(self) -> None:
            self.it = iter(feeds)

        def get_next(self):  # type: ignore[no-untyped-def]
            return next(self.it, None)

    quantize_static(tmp_path / "conv.onnx", tmp_path / "bad-qdq.onnx", Reader(),  # type: ignore[arg-type]
                    quant_format=QuantFormat.QDQ, per_channel=True, calibrate_method=CalibrationMethod.MinMax)
    wl, path = _workload(tmp_path, "name: conv11\nkind: generic\nmodel: {path: conv.onnx, prebuilt: {int8-static: "
                                   "bad-qdq.onnx}}\ninputs: [{name: x, shape: [N, 3, 16, 16]}]\n"
                                   "precisions: [fp32, int8-static]\n")
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    manifest = load_manifest(build_dir)
    check = manifest.workloads["conv11"].precisions["int8-static"].check
    assert check is not None and not check.loaded
    assert check.cause == "INVALID_GRAPH: Unrecognized attribute: axis for operator DequantizeLinear"
    assert "[ONNXRuntimeError]" in (check.error or "") and "opset >= 13" in (check.fix or "")
    device = DeviceProfile(name="here", backends=CPU)
    cells = {c.precision: c for c in make_plan([device], [wl], manifest=manifest)}
    assert cells["fp32"].status == "planned"
    assert cells["int8-static"].status == "skipped"
    assert "failed its build check" in (cells["int8-static"].reason or "") and check.cause in (cells["int8-static"].reason or "")


def test_weights_inside_if_branches_make_int8_variants_that_change_nothing(vad_build) -> None:
    _, _, build_dir = vad_build
    entry = load_manifest(build_dir).workloads["vad"]
    checks = {p: pe.check for p, pe in entry.precisions.items()}
    assert all(c is not None and c.loaded for c in checks.values()), checks
    assert checks["int8"].unchanged and checks["int8-static"].unchanged  # type: ignore[union-attr]
    assert not checks["fp16"].unchanged and not checks["fp32"].unchanged  # type: ignore[union-attr]
    assert any("changed nothing" in n for n in entry.precisions["int8"].notes)


def test_int64_scalar_and_feedback_state_reach_the_job(vad_build) -> None:
    wl, path, build_dir = vad_build
    ji = make_job_inputs(wl, load_manifest(build_dir).workloads["vad"], build_dir, path)
    assert ji.arrays["b1/sr"].shape == () and ji.arrays["b1/sr"].dtype == np.int64 and int(ji.arrays["b1/sr"]) == 16000
    assert ji.arrays["b1/state"].shape == (1, 32) and not ji.arrays["b1/state"].any()
    assert ji.params["feedback"] == {"state": "stateN"}


def test_calibration_follows_the_state_step_to_step(tmp_path: Path) -> None:
    model = onnx.load(str(stateful_vad(tmp_path / "vad.onnx")))
    arrays = {"/x": np.ones((1, 64), np.float32), "/state": np.zeros((1, 32), np.float32), "/sr": np.array(16000)}
    feeds = calibration.single_feeds(model, arrays, {"state": "stateN"}, steps=4)
    assert len(feeds) == 4
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for before, after in zip(feeds, feeds[1:]):
        state_n = sess.run(["stateN"], before)[0]
        np.testing.assert_array_equal(after["state"], state_n)


def test_unnamed_dims_are_named_per_input(tmp_path: Path) -> None:
    two_unnamed(tmp_path / "two.onnx")
    wl, path = _workload(tmp_path, "name: two\nkind: generic\nmodel: {path: two.onnx}\n"
                                   "dims: {a.dim1: 3, b.dim1: 5}\nprecisions: [fp32]\n")
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    entry = load_manifest(build_dir).workloads["two"]
    assert [i["shape"] for i in entry.io["inputs"]] == [["a.dim0", "a.dim1"], ["b.dim0", "b.dim1"]]
    ji = make_job_inputs(wl, entry, build_dir, path)
    assert ji.arrays["b1/a"].shape == (1, 3) and ji.arrays["b1/b"].shape == (1, 5)
    assert entry.precisions["fp32"].check.loaded  # type: ignore[union-attr]


def test_an_unbound_unnamed_dim_is_named_where_to_bind_it(tmp_path: Path) -> None:
    two_unnamed(tmp_path / "two.onnx")
    wl, path = _workload(tmp_path, "name: two\nkind: generic\nmodel: {path: two.onnx}\ndims: {a.dim1: 3}\n"
                                   "precisions: [fp32]\n")
    # the workload fails its own cells (others would still build); `harness build` exits 2 with this text
    error = load_manifest(builder.build([(wl, path)], tmp_path / "builds")).workloads["two"].error or ""
    assert re.search(rf"{path}:4:\d+: workload two: two.onnx input 'b' dim 1 is 'b.dim1': bind it under dims", error), error


def test_graph_signature_ignores_names_and_order_but_not_weights(tmp_path: Path) -> None:
    model = onnx.load(str(stateful_vad(tmp_path / "vad.onnx")))
    shuffled = onnx.ModelProto.FromString(model.SerializeToString())
    nodes = list(shuffled.graph.node)
    del shuffled.graph.node[:]
    shuffled.graph.node.extend([nodes[1], *nodes[:1], *nodes[2:]])
    shuffled.graph.node[0].output[0] = "rate"  # rename the constant and its one reader
    shuffled.graph.node[2].input[1] = "rate"
    assert variant_check.same_as_fp32({"model": model}, {"model": shuffled})
    branch = shuffled.graph.node[3].attribute[0].g.node[0].attribute[0].t
    branch.raw_data = bytes(len(branch.raw_data))  # zero one branch's weights
    assert not variant_check.same_as_fp32({"model": model}, {"model": shuffled})
    conv = onnx.load(str(conv_net(tmp_path / "c.onnx", opset=17)))
    assert not variant_check.same_as_fp32({"model": conv}, {"model": to_int8_dynamic(conv).model})


def test_manifest_keeps_the_full_error_of_a_converter_that_failed(tmp_path: Path) -> None:
    conv_net(tmp_path / "conv.onnx", opset=17)
    wl, path = _workload(tmp_path, "name: c\nkind: generic\nmodel: {path: conv.onnx, int4_block_size: 24}\n"
                                   "inputs: [{name: x, shape: [N, 3, 16, 16]}]\nprecisions: [fp32, int4]\n")
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    raw = json.loads((build_dir / "manifest.json").read_text())["workloads"]["c"]
    assert raw["skipped"]["int4"].startswith("int4: conversion failed: ValueError: int4 block size must be a power")
    assert raw["errors"]["int4"].startswith("ValueError: int4 block size")


def test_int8_static_goes_per_tensor_when_the_opset_cannot_be_converted(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """onnx's version converter handled every old model tried here; when it cannot (it raises for
    some graphs), per-tensor QDQ, which opset 11 loads, is the fallback, and the manifest says so."""
    from onnx import version_converter

    from harness.builds.convert import to_int8_static

    def refuse(model: onnx.ModelProto, target: int) -> onnx.ModelProto:
        raise RuntimeError("No Adapter From Version $11 for Foo")

    monkeypatch.setattr(version_converter, "convert_version", refuse)
    model = onnx.load(str(conv_net(tmp_path / "conv.onnx", opset=11)))
    feeds = [{"x": np.random.default_rng(i).standard_normal((1, 3, 16, 16)).astype(np.float32)} for i in range(3)]
    conv = to_int8_static(model, feeds)
    assert conv.converter["parameters"]["per_channel"] is False and conv.converter["parameters"]["opset"] == 11
    assert conv.notes[0].startswith("int8-static: per-tensor weights: the model is opset 11 and converting it to 13 "
                                    "failed (No Adapter From Version $11 for Foo)")
    sess = ort.InferenceSession(conv.model.SerializeToString(), providers=["CPUExecutionProvider"])
    assert sess.run(None, feeds[0])[0].shape == (1, 4, 16, 16)
