"""Fixtures for the hardening tests: a tiny workload folder, devices whose runner lies."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.hardening import hostile_runner
from tests.harness_cli import isolated_env
from tests.helpers import tiny_mlp

REPO = Path(__file__).resolve().parents[2]

TINY = {
    "name": "tiny",
    "kind": "generic",
    "model": {"path": "tiny.onnx"},
    "inputs": [{"name": "x", "shape": ["batch", 64], "dtype": "float32", "range": [-1, 1]}],
    "batch_sizes": [1],
    "precisions": ["fp32"],
    "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.02, "max_seconds": 0.5,
                "max_iterations": 50},
}


def write_workloads(folder: Path, *extra: dict[str, Any], tiny: dict[str, Any] | None = None) -> Path:
    """A workloads folder with tiny.onnx and tiny.yaml (plus ``extra`` workload documents)."""
    folder.mkdir(parents=True, exist_ok=True)
    tiny_mlp(folder / "tiny.onnx")
    for doc in ({**TINY, **(tiny or {})}, *extra):
        (folder / f"{doc['name']}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return folder


def hostile_interpreter(tmp_path: Path) -> Path:
    """A shell wrapper that starts hostile_runner.py with this interpreter."""
    wrapper = tmp_path / "hostile-python"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{hostile_runner.__file__}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def hostile_backends(modes: list[str]) -> list[dict[str, str]]:
    return [{"name": m, "provider": "CPUExecutionProvider"} for m in modes]


def write_profile(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "devices" / f"{data['name']}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def local_device(tmp_path: Path, name: str = "host", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "transport": {"kind": "local", "workdir": str(tmp_path / f"dev-{name}")},
        "runner": {"kind": "python", "interpreter": sys.executable},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 1, "inter_op": 1},
        **extra,
    }


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `python -m harness` subprocesses: everything under tmp_path."""
    return isolated_env(tmp_path)
