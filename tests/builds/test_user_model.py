"""A user's own ONNX model by path (examples/user-model): build -> job inputs -> agent -> fidelity."""

from __future__ import annotations

import re
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from harness.analysis.fidelity import budget_violations, fidelity_metrics
from harness.analysis.workload_metrics import derived_metrics
from harness.builds import builder
from harness.builds.inputs import make_job_inputs
from harness.builds.manifest import load_manifest
from harness.cli import app
from harness.config.loader import load_workload
from harness.errors import HarnessError

from ._agent import run_agent

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user-model"


@pytest.fixture()
def example(tmp_path: Path) -> Path:
    """The shipped example workload beside a freshly generated model.onnx (no committed binary)."""
    folder = tmp_path / "user"
    folder.mkdir()
    shutil.copy(EXAMPLE / "workload.yaml", folder / "workload.yaml")
    runpy.run_path(str(EXAMPLE / "make_model.py"))["main"](folder)
    return folder / "workload.yaml"


@pytest.mark.slow
def test_user_model_end_to_end(example: Path, tmp_path: Path):
    wl = load_workload(example)
    build_dir = builder.build([(wl, example)], tmp_path / "builds")
    entry = load_manifest(build_dir).workloads["user-tagger"]
    assert set(entry.precisions) == {"fp32", "fp16", "int8", "int4"}  # derived from the one file
    assert entry.source["path"].endswith("model.onnx") and len(entry.source["sha256"]) == 64
    ji = make_job_inputs(wl, entry, build_dir, example)
    assert ji.kind == "single" and sorted(ji.arrays) == ["b1/features", "b1/mask", "b8/features", "b8/mask"]
    assert ji.arrays["b8/features"].shape == (8, 16, 64) and ji.arrays["b1/mask"].dtype == np.int64
    assert ji.params == {"batch_sizes": {"b1": 1, "b8": 8}}
    _, ref = run_agent(build_dir, entry, "fp32", ji, tmp_path / "run" / "fp32")
    rel = {}
    for prec in ("fp16", "int8", "int4"):
        result, out = run_agent(build_dir, entry, prec, ji, tmp_path / "run" / prec)
        metrics = fidelity_metrics("generic", ref, out)
        rel[prec] = {m.name: m.value for m in metrics}["rel_l2"]
        assert budget_violations(metrics, wl.budgets[prec]) == [], (prec, rel[prec])
        rates = {m.name for m in derived_metrics(ji.kind, {k: v["samples"] for k, v in result["series"].items()}, ji.params)}
        assert rates == {"items_per_s@b1", "items_per_s@b8"}
    assert 0 < rel["fp16"] < 1e-2 and rel["int8"] > rel["fp16"] and rel["int4"] > rel["fp16"]
    tight = wl.budgets["int4"].model_copy(update={"rel_l2": rel["int4"] / 2})
    assert budget_violations(fidelity_metrics("generic", ref, out), tight) == [
        f"rel_l2 {rel['int4']:.3g} > budget {rel['int4'] / 2:.3g}"
    ]


def test_prebuilt_precision_is_used_as_is(example: Path, tmp_path: Path):
    import onnx

    from harness.builds.convert import to_fp16

    folder = example.parent
    (folder / "model.fp16.onnx").write_bytes(to_fp16(onnx.load(str(folder / "model.onnx"))).model.SerializeToString())
    text = example.read_text().replace("  int4_block_size: 32", "  int4_block_size: 32\n  prebuilt: {fp16: model.fp16.onnx}")
    example.write_text(text)
    wl = load_workload(example)
    build_dir = builder.build([(wl, example)], tmp_path / "builds", precisions=["fp16"])
    fp16 = load_manifest(build_dir).workloads["user-tagger"].precisions["fp16"]
    assert fp16.converter["tool"] == "prebuilt"
    assert (build_dir / fp16.files["model"].path).read_bytes() == (folder / "model.fp16.onnx").read_bytes()


def test_missing_user_file_and_unbound_dim_are_named(example: Path, tmp_path: Path):
    wl = load_workload(example)
    (example.parent / "model.onnx").unlink()
    line = next(i for i, text in enumerate(example.read_text().splitlines(), 1) if "path: model.onnx" in text)
    with pytest.raises(HarnessError, match=rf"^{example}:{line}:\d+: workload user-tagger: model.path 'model.onnx' not found"):
        builder.build([(wl, example)], tmp_path / "builds")
    runpy.run_path(str(EXAMPLE / "make_model.py"))["main"](example.parent)
    example.write_text(example.read_text().replace("dims:\n  seq: 16\n", ""))
    unbound = load_workload(example)
    seq = next(i for i, text in enumerate(example.read_text().splitlines(), 1) if "shape: [batch, seq, 64]" in text)
    # a workload that cannot be built fails its own cells (other workloads still build); `harness build` exits 2 with it
    build_dir = builder.build([(unbound, example)], tmp_path / "builds", precisions=["fp32"])
    error = load_manifest(build_dir).workloads["user-tagger"].error or ""
    assert re.search(rf"{example}:{seq}:\d+: workload user-tagger: input 'features' dim 1 is 'seq': bind it under dims",
                     error), error


def test_npy_file_inputs(example: Path, tmp_path: Path):
    folder = example.parent
    np.save(folder / "features.npy", np.full((2, 3, 64), 0.5, np.float32))
    text = example.read_text().replace("    shape: [batch, seq, 64]", "    file: features.npy")
    example.write_text(text)
    wl = load_workload(example)
    build_dir = builder.build([(wl, example)], tmp_path / "builds", precisions=["fp32"])
    ji = make_job_inputs(wl, load_manifest(build_dir).workloads["user-tagger"], build_dir, example)
    assert np.array_equal(ji.arrays["b1/features"], np.full((2, 3, 64), 0.5, np.float32))


def test_build_command_prints_folder_and_table(example: Path, tmp_path: Path):
    res = CliRunner().invoke(
        app, ["build", "--file", str(example), "--builds-root", str(tmp_path / "b"), "--id", "cli", "-p", "int4"]
    )
    assert res.exit_code == 0, res.output
    assert "build cli:" in res.output and str(tmp_path / "b" / "cli") in res.output.replace("\n", "")
    assert "user-tagger" in res.output and "int4" in res.output and "MB" in res.output
    auto = [
        CliRunner().invoke(app, ["build", "-f", str(example), "--builds-root", str(tmp_path / "a"), "-p", "fp16"])
        for _ in range(2)
    ]
    assert "reused" not in auto[0].output and "(unchanged: reused)" in auto[1].output
    bad = CliRunner().invoke(app, ["build", "--file", str(example), "--builds-root", str(tmp_path / "b"), "-w", "nope*"])
    assert bad.exit_code != 0 and "known: user-tagger" in str(bad.exception)
    sha = load_manifest(tmp_path / "b" / "cli").workloads["user-tagger"].precisions["int4"].files["model"].sha256
    assert sha[:12] in res.output


def test_user_fp32_file_is_copied_byte_for_byte(example: Path, tmp_path: Path):
    wl = load_workload(example)
    build_dir = builder.build([(wl, example)], tmp_path / "builds", precisions=["fp32"])
    fp32 = load_manifest(build_dir).workloads["user-tagger"].precisions["fp32"]
    assert (build_dir / fp32.files["model"].path).read_bytes() == (example.parent / "model.onnx").read_bytes()


@pytest.mark.slow
def test_user_translation_folder_in_optimum_layout(tmp_path: Path):
    from harness.builds.translation import MarianConfig, build_translation

    cfg = MarianConfig(vocab=120, dim=32, heads=2, ffn=64, encoder_layers=1, decoder_layers=1, decoder_start_token_id=3)
    folder = tmp_path / "user" / "opus-mt"
    folder.mkdir(parents=True)
    for role, model in build_translation(cfg, 5).items():
        name = {"encoder": "encoder_model", "decoder": "decoder_model", "decoder_with_past": "decoder_with_past_model"}
        (folder / f"{name[role]}.onnx").write_bytes(model.SerializeToString())
    path = tmp_path / "user" / "mt.yaml"
    path.write_text(
        "name: user-mt\nkind: translation\nmodel:\n  path: opus-mt\n  options: {decoder_start_token_id: 3}\n"
        "translation: {source_len: [6], max_new_tokens: 3}\nprecisions: [fp32, int8]\n"
    )
    wl = load_workload(path)
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    entry = load_manifest(build_dir).workloads["user-mt"]
    assert set(entry.precisions["int8"].files) == {"encoder", "decoder", "decoder_with_past"}
    assert entry.io["vocab"] == 120 and entry.io["decoder_start_token_id"] == 3
    ji = make_job_inputs(wl, entry, build_dir, path)
    assert ji.kind == "translation" and ji.params["decoder_start_token_id"] == 3
    _, ref = run_agent(build_dir, entry, "fp32", ji, tmp_path / "run" / "fp32")
    _, out = run_agent(build_dir, entry, "int8", ji, tmp_path / "run" / "int8")
    metrics = {m.name: m.value for m in fidelity_metrics("translation", ref, out)}
    assert ref["s6/tokens"].shape == (3,) and 0 < metrics["rel_l2"] < 0.5
    (folder / "decoder_model.onnx").unlink()
    with pytest.raises(HarnessError, match="decoder_model.onnx"):
        builder.build([(wl, path)], tmp_path / "builds")


def test_without_an_input_spec_the_graph_inputs_are_used(example: Path, tmp_path: Path):
    text = example.read_text()
    start, end = text.index("inputs:\n"), text.index("dims:\n")
    example.write_text(text[:start] + text[end:])
    wl = load_workload(example)
    assert wl.inputs == []
    build_dir = builder.build([(wl, example)], tmp_path / "builds", precisions=["fp32"])
    ji = make_job_inputs(wl, load_manifest(build_dir).workloads["user-tagger"], build_dir, example)
    assert ji.arrays["b8/features"].shape == (8, 16, 64) and ji.arrays["b8/features"].dtype == np.float32
    assert ji.arrays["b1/mask"].shape == (1, 16) and ji.arrays["b1/mask"].dtype == np.int64


def test_user_text_lm_by_path(tmp_path: Path):
    from harness.builds.text_lm import LMConfig, build_text_lm

    folder = tmp_path / "user"
    folder.mkdir()
    cfg = LMConfig(vocab=150, hidden=32, layers=1, heads=2, kv_heads=1, ffn=48)
    (folder / "lm.onnx").write_bytes(build_text_lm(cfg, 8).SerializeToString())
    path = folder / "lm.yaml"
    path.write_text(
        "name: user-lm\nkind: text-generation\nmodel: {path: lm.onnx}\n"
        "generation: {prompt: [5], generate: [3]}\nprecisions: [fp32, int4]\n"
    )
    wl = load_workload(path)
    build_dir = builder.build([(wl, path)], tmp_path / "builds")
    entry = load_manifest(build_dir).workloads["user-lm"]
    assert entry.io["vocab"] == 150
    ji = make_job_inputs(wl, entry, build_dir, path)
    assert ji.arrays["p5/input_ids"].max() < 150
    result, ref = run_agent(build_dir, entry, "fp32", ji, tmp_path / "run" / "fp32")
    _, out = run_agent(build_dir, entry, "int4", ji, tmp_path / "run" / "int4")
    assert {"ttft_ms@p5", "decode_ms@p5g3"} <= set(result["series"])
    assert {m.name: m.value for m in fidelity_metrics("text-generation", ref, out)}["rel_l2"] > 0
