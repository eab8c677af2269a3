"""Benchmarks report ratios measured in one run (never timed asserts): see extra_info and stdout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_LOCAL_WORKDIR", str(tmp_path / "local-device"))
    if "HARNESS_STORE" not in os.environ:
        monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store.db"))
