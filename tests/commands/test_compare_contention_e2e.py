"""Contention end to end on this host: two runs of one build, the second beside a process spinning on
every core, are not a regression (exit 0, contention named); a real slowdown (the model with an extra
op chain) under the same contention still is (exit 1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tests.rigs.cpu_hogs import hog_on_every_core

DEVICE = "name: here\ntransport: {{kind: local, workdir: {workdir}}}\nbackends: [{{name: cpu, provider: CPUExecutionProvider}}]\n"
WORKLOAD = ("name: chain\nkind: generic\nmodel: {path: chain.onnx}\ninputs: [{name: x, shape: [16, 128]}]\n"
            "precisions: [fp32]\n"
            "measure: {warmup: 2, warmup_s: 0, min_iterations: 20, min_seconds: 0.2, max_seconds: 2}\n")


def chain_model(path: Path, extra: int) -> Path:
    """x[16, 128] -> MatMul -> y; ``extra`` more MatMul + Tanh pairs before it (the injected slowdown)."""
    rng = np.random.default_rng(0)
    inits, nodes, last = [], [], "x"
    for i in range(extra + 1):
        w = numpy_helper.from_array((rng.standard_normal((128, 128)) * 0.05).astype(np.float32), f"w{i}")
        inits.append(w)
        out = "y" if i == extra else f"h{i}"
        nodes.append(helper.make_node("MatMul", [last, f"w{i}"], [out if i == extra else f"m{i}"]))
        if i < extra:
            nodes.append(helper.make_node("Tanh", [f"m{i}"], [out]))
        last = out
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [16, 128])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [16, 128])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.write_bytes(model.SerializeToString())
    return path


def harness(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=900)


@pytest.fixture
def home(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    (home / "devices").mkdir(parents=True)
    (home / "workloads").mkdir()
    (home / "devices" / "here.yaml").write_text(DEVICE.format(workdir=tmp_path / "device"))
    (home / "workloads" / "chain.yaml").write_text(WORKLOAD)
    chain_model(home / "workloads" / "chain.onnx", extra=0)
    env = {k: v for k, v in os.environ.items() if k not in ("HARNESS_STORE", "HARNESS_BUILDS", "HARNESS_HOME")}
    return home, env


def _compare(home: Path, env: dict[str, str], *extra: str) -> tuple[int, dict]:
    proc = harness("compare", "latest~1", "latest", "--format", "json", *extra, cwd=home, env=env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def _latency(doc: dict) -> dict:
    return next(r for r in doc["rows"] if r["metric"].startswith("latency_ms"))


@pytest.mark.slow
def test_a_busy_neighbour_is_not_a_regression_and_a_real_slowdown_still_is(home: tuple[Path, dict[str, str]]) -> None:
    root, env = home
    assert harness("run", "-w", "chain", cwd=root, env=env).returncode == 0
    with hog_on_every_core():
        assert harness("run", "-w", "chain", cwd=root, env=env).returncode == 0
    code, doc = _compare(root, env)
    row = _latency(doc)
    assert code == 0 and row["verdict"] != "REGRESSED", row  # INCONCLUSIVE (or SUSPECTED on a host busy all along)
    assert "contention" in " ".join([row["reason"], *row["notes"]]), row  # and the row names it

    chain_model(root / "workloads" / "chain.onnx", extra=40)  # a real slowdown: 40 more MatMul + Tanh
    with hog_on_every_core():
        assert harness("run", "-w", "chain", cwd=root, env=env).returncode == 0
    proc = harness("compare", "latest~2", "latest", "--format", "json", "--allow-artifact-change", cwd=root, env=env)
    doc = json.loads(proc.stdout)
    row = _latency(doc)
    assert proc.returncode == 1 and row["verdict"] == "REGRESSED", row
    assert "contention" in " ".join([row["reason"], *row["notes"]]), row
    assert row["ratio"] > 5  # 40 more MatMul + Tanh: beyond anything the busy neighbour explains
