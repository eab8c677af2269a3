"""The built-in workloads/*.yaml: valid, every precision budgeted, models in the 5-50 MB band."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.builds.sources import load_source
from harness.config.loader import load_workloads
from harness.config.models import PRECISIONS

WORKLOADS = load_workloads(Path(__file__).resolve().parents[2] / "workloads")


def test_one_workload_per_builtin_model():
    builtins = {wl.model.builtin for wl, _ in WORKLOADS.values()}
    assert builtins == {"text-lm", "image-vit", "image-resnet", "translation-marian"}


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_builtin_workload_is_complete(name):
    wl, path = WORKLOADS[name]
    assert list(wl.precisions) == list(PRECISIONS)
    assert set(wl.budgets) == set(PRECISIONS) - {"fp32"}
    src = load_source(wl, path)
    for role, model in src.models.items():
        assert 5e6 <= model.ByteSize() <= 50e6, (name, role, model.ByteSize())
