"""The x86_64 native runner in real runs: the local device (profile `build: linux-x86_64`) and the
sshd rig (profile `push: <bundle>`), beside the Python agent on the local device, in ONE run over
the three kinds. Same ORT and inputs: the fidelity numbers (outputs vs the host fp32 reference)
are equal to the last bit, so are the outputs they were computed from."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from harness.builds.runner import RunnerBuild
from harness.plan import Filters
from harness.results.store import Store
from harness.session.launch import RunRequest, execute, prepare_run
from tests.commands.conftest import write_workload
from tests.helpers import tiny_mlp
from tests.rigs.fixtures import ssh_profile_data
from tests.rigs.sshd import SshdRig

pytestmark = [pytest.mark.slow, pytest.mark.rig]

WORKLOADS = {
    "lm.yaml": """
name: tiny-lm
kind: text-generation
model:
  builtin: text-lm
  options: {vocab: 300, hidden: 64, layers: 2, heads: 4, kv_heads: 2, ffn: 96, outlier_channels: 2}
generation: {prompt: [6], generate: [4]}
precisions: [fp32, int8]
measure: {warmup: 1, warmup_s: 0, min_iterations: 3, min_seconds: 0.02, max_seconds: 2}
seed: 3
""",
    "cnn.yaml": """
name: tiny-cnn
kind: image-classification
model:
  builtin: image-resnet
  options: {image: 32, widths: [8, 16], classes: 10}
batch_sizes: [1, 2]
precisions: [fp32, int8]
measure: {warmup: 1, warmup_s: 0, min_iterations: 3, min_seconds: 0.02, max_seconds: 2}
""",
    "mt.yaml": """
name: tiny-mt
kind: translation
model:
  builtin: translation-marian
  options: {vocab: 200, dim: 32, heads: 2, ffn: 64, encoder_layers: 1, decoder_layers: 1}
translation: {source_len: [5], max_new_tokens: 4}
precisions: [fp32, int8-static]
measure: {warmup: 1, warmup_s: 0, min_iterations: 3, min_seconds: 0.02, max_seconds: 2}
""",
}


def _local(name: str, runner: dict[str, Any], workdir: Path) -> dict[str, Any]:
    return {"name": name, "transport": {"kind": "local", "workdir": str(workdir)}, "runner": runner,
            "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}], "threads": {"intra_op": 1, "inter_op": 1}}


def test_native_runner_locally_and_over_ssh_equals_the_agent(x86_runner: RunnerBuild, sshd_rig: SshdRig,
                                                             tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds = tmp_path / "builds"
    shutil.copytree(x86_runner.path, builds / "runners" / "linux-x86_64")  # what `harness runner build` leaves
    monkeypatch.setenv("HARNESS_BUILDS", str(builds))
    devices, workloads = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    workloads.mkdir()
    for name, text in WORKLOADS.items():
        (workloads / name).write_text(text)
    profiles = [
        _local("local-python", {"kind": "python"}, tmp_path / "py-device"),
        _local("local-native", {"kind": "native", "build": "linux-x86_64"}, tmp_path / "native-device"),
        {**ssh_profile_data(sshd_rig), "name": "ssh-native", "runner": {"kind": "native", "push": str(x86_runner.path)}},
    ]
    for p in profiles:
        (devices / f"{p['name']}.yaml").write_text(yaml.safe_dump(p))
    store = Store(tmp_path / "s.db")
    prep = prepare_run(RunRequest(filters=Filters(device=("local-*", "ssh-*")), devices_dir=devices,
                                  workloads_dir=workloads, builds_root=builds), store)
    outcome = execute(prep)
    cells = store.cells_frame([prep.run_id])
    assert dict(outcome.statuses) == {"ok": 18}, cells[["device", "workload", "precision", "error"]].to_string()
    assert set(cells["ort_version"]) == {__import__("onnxruntime").__version__}

    metrics = store.metrics_frame([prep.run_id])
    fidelity = metrics[metrics["kind"] == "deterministic"]
    fidelity = fidelity[~fidelity["metric"].str.startswith("peak_")]  # memory differs by the interpreter
    table = fidelity.pivot_table(index=["workload", "precision", "metric"], columns="device", values="value")
    assert len(table) > 20 and not table.isna().any().any()
    pd.testing.assert_series_equal(table["local-native"], table["local-python"], check_names=False, rtol=0, atol=0)
    pd.testing.assert_series_equal(table["ssh-native"], table["local-python"], check_names=False, rtol=0, atol=0)
    # the same series were measured, the same kinds of numbers stored (host_contention_retries is there only
    # when a busy window was measured again: it follows the host's load, not the runner)
    def kinds(device: str) -> set[str]:
        return set(metrics[metrics["device"] == device]["metric"]) - {"host_contention_retries"}

    for device in ("local-native", "ssh-native"):
        assert kinds(device) == kinds("local-python")


def test_backends_the_runners_ort_lacks_are_skipped_with_the_build_that_has_them(
        x86_runner: RunnerBuild, tmp_path: Path) -> None:
    devices, workloads = tmp_path / "devices", tmp_path / "workloads"
    devices.mkdir()
    workloads.mkdir()
    tiny_mlp(workloads / "tiny.onnx")
    write_workload(workloads, "[fp32, int8]", min_seconds=0.02)
    phone = _local("cpu-bundle-phone", {"kind": "native", "push": str(x86_runner.path)}, tmp_path / "phone")
    phone["backends"] = [{"name": "nnapi", "provider": "NnapiExecutionProvider"},
                         {"name": "xnnpack", "provider": "XnnpackExecutionProvider"},
                         {"name": "cpu", "provider": "CPUExecutionProvider"}]
    (devices / "phone.yaml").write_text(yaml.safe_dump(phone))
    store = Store(tmp_path / "s.db")
    prep = prepare_run(RunRequest(devices_dir=devices, workloads_dir=workloads, builds_root=tmp_path / "builds",
                                  max_consecutive_failures=2), store)
    outcome = execute(prep)
    cells = store.cells_frame([prep.run_id]).set_index(["backend", "precision"])
    assert dict(outcome.statuses) == {"ok": 2, "skipped": 4}
    assert set(cells.loc["cpu", "status"]) == {"ok"}
    for backend, provider in (("nnapi", "NnapiExecutionProvider"), ("xnnpack", "XnnpackExecutionProvider")):
        for error in cells.loc[backend, "error"]:
            assert f"lacks {provider}" in error and "android-arm64" in error and "CPUExecutionProvider" in error
