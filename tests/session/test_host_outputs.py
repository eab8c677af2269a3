"""Host runs of any precision (the cross-platform reference): cached per build x workload x
precision, and an artifact the host cannot run is a clear HarnessError (the session records it
on the cell, which stays measured)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from harness.analysis.fidelity import XPLAT_HOST_METHOD, xplat_metrics
from harness.builds.builder import build
from harness.builds.manifest import load_manifest
from harness.config.loader import load_workloads
from harness.errors import HarnessError
from harness.session.host_cache import HostCache
from tests.helpers import broken_int8, tiny_mlp
from tests.lab import WORKLOAD

# the lab's workload with a user's pre-built int8 artifact that breaks at inference
BROKEN_INT8 = WORKLOAD.replace("  path: tiny.onnx\n", "  path: tiny.onnx\n  prebuilt: {int8: broken-int8.onnx}\n")


def test_each_precision_runs_once_on_the_host_and_a_broken_one_says_why(tmp_path: Path) -> None:
    wl = tmp_path / "workloads"
    wl.mkdir()
    tiny_mlp(wl / "tiny.onnx")
    broken_int8(wl / "broken-int8.onnx")
    (wl / "tiny.yaml").write_text(BROKEN_INT8)
    workloads = load_workloads(wl)
    build_dir = build(list(workloads.values()), tmp_path / "builds")
    host = HostCache(build_dir, load_manifest(build_dir), tmp_path / "host")
    workload, path = workloads["tiny-mlp"]
    fp16 = host.host_outputs(workload, path, "fp16")
    assert host.host_outputs(workload, path, "fp16") is fp16  # cached in memory
    cached = sorted((build_dir / ".reference").glob("tiny-mlp-*.npz"))
    assert len(cached) == 1  # and on disk, beside the build
    fp32 = host.reference(workload, path)
    assert len(sorted((build_dir / ".reference").glob("tiny-mlp-*.npz"))) == 2
    assert set(fp16) == set(fp32) and not np.array_equal(fp16["b1/y"], fp32["b1/y"])
    again = HostCache(build_dir, load_manifest(build_dir), tmp_path / "host2").host_outputs(workload, path, "fp16")
    assert np.array_equal(again["b1/y"], fp16["b1/y"])  # a second run reads the cached file
    same = xplat_metrics("single", fp16, fp16)
    assert {m.name: m.value for m in same}["xplat_rel_l2"] == 0.0 and {m.method for m in same} == {XPLAT_HOST_METHOD}
    with pytest.raises(HarnessError, match="int8 host run for tiny-mlp failed"):
        host.host_outputs(workload, path, "int8")


def test_the_host_workdir_exists_only_between_first_use_and_remove(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))  # where mkdtemp puts it
    wl = tmp_path / "workloads"
    wl.mkdir()
    tiny_mlp(wl / "tiny.onnx")
    (wl / "tiny.yaml").write_text(WORKLOAD)
    workloads = load_workloads(wl)
    build_dir = build(list(workloads.values()), tmp_path / "builds")
    prepared_only = HostCache(build_dir, load_manifest(build_dir))
    prepared_only.remove()
    assert not list(tmp_path.glob("harness-host-*"))  # a run prepared, never executed: nothing left
    host = HostCache(build_dir, load_manifest(build_dir))
    workload, path = workloads["tiny-mlp"]
    host.inputs(workload, path)
    assert [p.name for p in host.workdir.iterdir()] == ["inputs-tiny-mlp.npz"]
    host.remove()
    assert not list(tmp_path.glob("harness-host-*"))
