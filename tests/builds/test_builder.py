"""build(): deterministic artifacts, instant reuse, failures kept per precision, job inputs."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from harness.analysis.fidelity import fidelity_metrics
from harness.builds import builder, convert
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workload
from harness.config.models import DeviceProfile
from harness.errors import HarnessError
from harness.plan import make_plan

from ._agent import run_agent

SMALL = {
    "lm.yaml": """
name: tiny-lm
kind: text-generation
model:
  builtin: text-lm
  options: {vocab: 300, hidden: 64, layers: 2, heads: 4, kv_heads: 2, ffn: 96, outlier_channels: 2}
  int4_block_size: 16
generation: {prompt: [6, 12], generate: [4]}
seed: 3
""",
    "cnn.yaml": """
name: tiny-cnn
kind: image-classification
model:
  builtin: image-resnet
  options: {image: 32, widths: [8, 16], classes: 10}
batch_sizes: [1, 2]
precisions: [fp32, int8, int4]
""",
    "mt.yaml": """
name: tiny-mt
kind: translation
model:
  builtin: translation-marian
  options: {vocab: 200, dim: 32, heads: 2, ffn: 64, encoder_layers: 1, decoder_layers: 1}
translation: {source_len: [5], max_new_tokens: 4}
precisions: [fp32, fp16, int8-static]
""",
}


@pytest.fixture()
def workloads(tmp_path: Path):
    folder = tmp_path / "workloads"
    folder.mkdir()
    out = []
    for name, text in SMALL.items():
        (folder / name).write_text(text)
        out.append((load_workload(folder / name), folder / name))
    return out


def _shas(build_dir: Path) -> dict:
    man = load_manifest(build_dir)
    return {(w, p, r): a.sha256 for w, e in man.workloads.items() for p, pe in e.precisions.items() for r, a in pe.files.items()}


@pytest.mark.slow
def test_same_seed_builds_are_byte_identical_and_reused(workloads, tmp_path: Path):
    a = builder.build(workloads, tmp_path / "builds", build_id="first")
    b = builder.build(workloads, tmp_path / "builds", build_id="second", reuse=False)  # converted again
    assert _shas(a) == _shas(b)
    assert {k[:2] for k in _shas(a)} >= {("tiny-lm", "int8-static"), ("tiny-lm", "int4"), ("tiny-mt", "int8-static")}
    man = load_manifest(a)
    assert set(man.workloads["tiny-cnn"].precisions) == {"fp32", "int8", "int4"}
    assert set(man.workloads["tiny-mt"].precisions["fp16"].files) == {"encoder", "decoder", "decoder_with_past"}
    assert "int4: all Conv weights unchanged (fp32)" in man.workloads["tiny-cnn"].precisions["int4"].notes
    assert man.workloads["tiny-lm"].precisions["int4"].converter["parameters"]["block_size"] == 16
    static = man.workloads["tiny-lm"].precisions["int8-static"].converter["parameters"]
    assert static["calibration_feeds"] > 2  # prefill and decode feeds

    auto = builder.build(workloads, tmp_path / "builds")
    stamp = (auto / "manifest.json").stat().st_mtime_ns
    t0 = time.perf_counter()
    again = builder.build(workloads, tmp_path / "builds")
    assert again == auto and (auto / "manifest.json").stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert time.perf_counter() - t0 < 5  # generous: a rebuild takes far longer than a hash
    assert _shas(auto) == _shas(a)


def test_a_failing_converter_keeps_the_other_precisions(workloads, tmp_path: Path, monkeypatch):
    def broken(model, block_size=32):
        raise RuntimeError("MatMulNBits exploded\nsecond line")

    monkeypatch.setattr(convert, "to_int4", broken)
    build_dir = builder.build([workloads[1]], tmp_path / "builds", build_id="x")
    entry = load_manifest(build_dir).workloads["tiny-cnn"]
    assert set(entry.precisions) == {"fp32", "int8"}
    assert entry.skipped == {"int4": "int4: conversion failed: RuntimeError: MatMulNBits exploded"}
    assert entry.notes == ["int4: conversion failed: RuntimeError: MatMulNBits exploded"]
    # the run plan keeps the cell, skipped with the builder's reason
    device = DeviceProfile(name="d", backends=[{"name": "cpu", "provider": "CPUExecutionProvider"}])
    cells = {c.precision: c for c in make_plan([device], [workloads[1][0]], manifest=load_manifest(build_dir))}
    assert cells["int4"].status == "skipped" and cells["int4"].reason.endswith("MatMulNBits exploded")
    assert cells["int8"].status == "planned"


def test_subset_of_precisions_and_unknown_precision(workloads, tmp_path: Path):
    build_dir = builder.build([workloads[1]], tmp_path / "b", build_id="s", precisions=["int8"])
    entry = load_manifest(build_dir).workloads["tiny-cnn"]
    assert set(entry.precisions) == {"fp32", "int8"}  # fp32 always: it is the fidelity reference
    with pytest.raises(HarnessError, match="unknown precision 'int3'"):
        builder.build([workloads[1]], tmp_path / "b", precisions=["int3"])


@pytest.mark.slow
def test_generation_and_translation_through_the_agent(workloads, tmp_path: Path):
    build_dir = builder.build([workloads[0], workloads[2]], tmp_path / "builds", build_id="g")
    man = load_manifest(build_dir)
    series = {}
    for wl, path in (workloads[0], workloads[2]):
        entry = man.workloads[wl.name]
        ji = make_job_inputs(wl, entry, build_dir, path)
        ref_result, ref = run_agent(build_dir, entry, "fp32", ji, tmp_path / wl.name / "fp32")
        series[wl.name] = set(ref_result["series"])
        for prec in entry.precisions:
            if prec == "fp32":
                continue
            result, out = run_agent(build_dir, entry, prec, ji, tmp_path / wl.name / prec)
            metrics = {m.name: m.value for m in fidelity_metrics(wl.kind, ref, out)}
            assert 0 < metrics["rel_l2"] < 0.5 and 0 <= metrics["token_match"] <= 1, (wl.name, prec, metrics)
    assert {"ttft_ms@p6", "ttft_ms@p12", "decode_ms@p6g4", "generation_ms@p12g4"} <= series["tiny-lm"]
    assert series["tiny-mt"] == {"encoder_ms@s5", "decoder_ms@s5", "sentence_ms@s5"}


def test_job_inputs_are_seeded_and_shared_by_precisions(workloads, tmp_path: Path):
    build_dir = builder.build([workloads[0]], tmp_path / "b", build_id="i", precisions=["fp16"])
    entry = load_manifest(build_dir).workloads["tiny-lm"]
    wl, path = workloads[0]
    one = make_job_inputs(wl, entry, build_dir, path)
    two = make_job_inputs(wl, entry, build_dir, path)
    assert one.kind == "text-generation" and sorted(one.arrays) == ["p12/input_ids", "p6/input_ids"]
    assert all(np.array_equal(one.arrays[k], two.arrays[k]) for k in one.arrays)
    assert np.array_equal(one.arrays["p12/input_ids"][:, :6], one.arrays["p6/input_ids"])
    assert one.params["grid"][0] == {"label": "p6g4", "prompt": "p6", "generate": 4}
    other = make_job_inputs(wl.model_copy(update={"seed": 4}), entry, build_dir, path)
    assert not np.array_equal(other.arrays["p6/input_ids"], one.arrays["p6/input_ids"])


def test_content_hash_tracks_config_and_user_files(workloads, tmp_path: Path):
    base = builder.content_hash(workloads, None)
    assert builder.content_hash(list(reversed(workloads)), None) == base
    changed = [(workloads[0][0].model_copy(update={"seed": 9}), workloads[0][1]), *workloads[1:]]
    assert builder.content_hash(changed, None) != base
    assert builder.content_hash(workloads, ["fp16"]) != base
