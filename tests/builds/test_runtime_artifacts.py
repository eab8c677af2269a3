"""Runtime conversions in the build: made on the host, recorded in the manifest, redone only when
the converter changed, never touching the build's own ONNX models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.builds import builder
from harness.builds.manifest import load_manifest, sha256_of
from harness.builds.runtime_artifacts import ensure_runtime_artifacts
from harness.config.loader import load_workload
from harness.config.models import Workload
from tests.helpers import tiny_mlp

WORKLOAD = """\
name: tiny
kind: generic
model: {path: tiny.onnx}
inputs: [{name: x, shape: [batch, 64], range: [-1, 1]}]
batch_sizes: [1, 3]
precisions: [fp32]
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, tuple[Workload, Path]], Path]:
    folder = tmp_path_factory.mktemp("rt")
    tiny_mlp(folder / "tiny.onnx")
    (folder / "tiny.yaml").write_text(WORKLOAD)
    wl = load_workload(folder / "tiny.yaml")
    workloads = {"tiny": (wl, folder / "tiny.yaml")}
    return workloads, builder.build(list(workloads.values()), folder / "builds")


def test_a_conversion_is_recorded_with_its_converter_meaning_and_source(built) -> None:  # type: ignore[no-untyped-def]
    workloads, build_dir = built
    onnx_file = build_dir / load_manifest(build_dir).workloads["tiny"].precisions["fp32"].files["model"].path
    before = sha256_of(onnx_file)
    man = ensure_runtime_artifacts(build_dir, [("tiny", "openvino", "fp32"), ("tiny", "openvino", "int8"),
                                               ("tiny", "onnxruntime", "fp32")], workloads)
    ov = man.workloads["tiny"].runtimes["openvino"]
    made = ov["fp32"]
    assert made.files["model"].sha256 == sha256_of(build_dir / made.files["model"].path)
    assert made.converter["name"].startswith("openvino") and made.converter["version"]
    assert made.source_precision == "fp32" and made.source_sha256 == before
    assert made.settings == {"INFERENCE_PRECISION_HINT": "f32"} and "f32" in (made.meaning or "")
    assert ov["int8"].skipped and ov["int8"].skipped.startswith("openvino cannot make int8") and not ov["int8"].files
    assert "onnxruntime" not in man.workloads["tiny"].runtimes  # ONNX Runtime runs the build's own files
    assert sha256_of(onnx_file) == before
    assert load_manifest(build_dir).workloads["tiny"].runtimes["openvino"]["fp32"] == made  # written to disk


def test_a_conversion_is_made_once_and_again_when_its_converter_changed(built) -> None:  # type: ignore[no-untyped-def]
    workloads, build_dir = built
    need = [("tiny", "openvino", "fp32")]
    ensure_runtime_artifacts(build_dir, need, workloads)
    stamp = (build_dir / "manifest.json").stat().st_mtime_ns
    ensure_runtime_artifacts(build_dir, need, workloads)
    assert (build_dir / "manifest.json").stat().st_mtime_ns == stamp  # nothing to do: not rewritten
    doc = json.loads((build_dir / "manifest.json").read_text())
    doc["workloads"]["tiny"]["runtimes"]["openvino"]["fp32"]["converter"]["version"] = "0.0-old"
    (build_dir / "manifest.json").write_text(json.dumps(doc))
    man = ensure_runtime_artifacts(build_dir, need, workloads)
    assert man.workloads["tiny"].runtimes["openvino"]["fp32"].converter["version"] != "0.0-old"
