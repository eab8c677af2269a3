"""A tiny user-model workload (generic kind) so end-to-end runs finish in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import tiny_mlp, tiny_mlp_workload

# a template: .format(precisions=..., min_seconds=...)
WORKLOAD = tiny_mlp_workload("tiny-mlp", {"warmup": 2, "warmup_s": 0, "min_iterations": 20, "min_seconds": "{min_seconds}",
                                          "max_seconds": 2},
                             precisions="{precisions}", batch_sizes="[1, 4]", extra="budgets:\n  fp16: {{rel_l2: 0.01}}\n")


@pytest.fixture
def tiny_workloads(tmp_path: Path) -> Path:
    folder = tmp_path / "workloads"
    folder.mkdir()
    tiny_mlp(folder / "tiny.onnx")
    (folder / "tiny.yaml").write_text(WORKLOAD.format(precisions="[fp32, fp16, int8]", min_seconds=0.05))
    return folder


def write_workload(folder: Path, precisions: str, min_seconds: float) -> None:
    (folder / "tiny.yaml").write_text(WORKLOAD.format(precisions=precisions, min_seconds=min_seconds))
