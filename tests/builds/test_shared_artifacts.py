"""Builds share artifacts by content (issue 24): two -w / -p subset builds of a stored build hold
one copy of each artifact (the same inode as the stored build's and as the object store's), are
made without converting anything again, keep valid manifests whose sha256 every artifact still
matches, and `harness build --gc` removes only what no build folder links any more."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.builds import builder, convert, objects
from harness.builds.manifest import load_manifest, verify_artifact
from harness.config.loader import load_workload
from harness.config.outputs import remove_within
from tests.helpers import tiny_mlp

WORKLOAD = """\
name: {name}
kind: generic
model: {{path: {name}.onnx}}
inputs:
  - {{name: x, shape: [batch, 64], range: [-1, 1]}}
batch_sizes: [1]
precisions: [fp32, fp16, int8]
"""
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def workloads(tmp_path: Path) -> list:
    folder = tmp_path / "workloads"
    out = []
    for i, name in enumerate(("mlp-a", "mlp-b")):
        tiny_mlp(folder / f"{name}.onnx", seed=i)
        (folder / f"{name}.yaml").write_text(WORKLOAD.format(name=name))
        out.append((load_workload(folder / f"{name}.yaml"), folder / f"{name}.yaml"))
    return out


def _files(build_dir: Path) -> dict[tuple[str, str, str], Path]:
    man = load_manifest(build_dir)
    for e in man.workloads.values():
        for pe in e.precisions.values():
            for art in pe.files.values():
                verify_artifact(build_dir, art)  # every artifact still matches its manifest's sha256
    return {(w, p, r): build_dir / a.path for w, e in man.workloads.items() for p, pe in e.precisions.items()
            for r, a in pe.files.items()}


def test_two_subset_builds_share_one_copy_of_each_artifact(workloads, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "builds"
    full = builder.build(workloads, root)
    whole = _files(full)
    assert len(whole) == 6  # 2 workloads x fp32 / fp16 / int8

    def no_conversion(*args, **kwargs):  # the subsets must reuse, never convert again
        raise AssertionError("converted again")

    monkeypatch.setattr(convert, "convert", no_conversion)
    only_fp16 = builder.build(workloads, root, precisions=["fp16"])  # -p fp16
    only_b = builder.build(workloads[1:], root)  # -w mlp-b
    assert len({full, only_fp16, only_b}) == 3
    fp16, b = _files(only_fp16), _files(only_b)
    assert set(fp16) == {(w, p, "model") for w in ("mlp-a", "mlp-b") for p in ("fp32", "fp16")}
    assert set(b) == {("mlp-b", p, "model") for p in ("fp32", "fp16", "int8")}
    for key, path in [*fp16.items(), *b.items()]:
        assert os.path.samefile(path, whole[key]), key  # one copy on disk: the very same file
    inodes = {os.stat(p).st_ino for p in [*whole.values(), *fp16.values(), *b.values()]}
    stored = [p for p in (root / objects.OBJECTS).rglob("*") if p.is_file()]
    assert len(inodes) == len(stored) == len(whole)  # one object per distinct artifact
    notes = load_manifest(only_fp16).workloads["mlp-a"].precisions["fp32"].notes
    assert notes == [builder.FP32_REFERENCE_ONLY]  # the subset's manifest says what it is, as a fresh build

    remove_within(root, full)
    done = objects.gc(root)
    assert (done.removed, done.kept) == (1, 5)  # mlp-a int8 was in the full build alone
    remove_within(root, only_b)
    done = objects.gc(root)
    assert (done.removed, done.kept) == (1, 4)  # mlp-b int8 went with the -w mlp-b build
    assert all(p.is_file() for p in _files(only_fp16).values())


def test_gc_on_the_command_line_adopts_older_builds_and_stays_in_its_folder(workloads, tmp_path: Path) -> None:
    root = tmp_path / "builds"
    a = builder.build(workloads[:1], root, build_id="old-a", precisions=["fp32"])
    b = builder.build(workloads[:1], root, build_id="old-b", precisions=["fp32"], reuse=False)
    for art in (root / objects.OBJECTS).rglob("*"):
        if art.is_file():
            art.unlink()  # as if both were built before builds shared: two separate copies
    (b / "mlp-a" / "fp32" / "model.onnx").unlink()
    (b / "mlp-a" / "fp32" / "model.onnx").write_bytes((a / "mlp-a" / "fp32" / "model.onnx").read_bytes())
    outside = tmp_path / "outside.onnx"
    outside.write_bytes(b"not a build's")
    env = dict(os.environ, HARNESS_BUILDS=str(root), COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "harness", "build", "--gc"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "2 artifact file(s) of older builds now shared" in proc.stdout and "removed 0" in proc.stdout, proc.stdout
    assert os.path.samefile(a / "mlp-a" / "fp32" / "model.onnx", b / "mlp-a" / "fp32" / "model.onnx")
    assert outside.read_bytes() == b"not a build's"
    _files(a), _files(b)
