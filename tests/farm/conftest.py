"""A tiny workload and its build (fp32 + int8), shared by the farm tests; farm files written per test."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import tiny_mlp

WORKLOAD = {
    "name": "tiny-mlp",
    "kind": "generic",
    "model": {"path": "tiny.onnx"},
    "inputs": [{"name": "x", "shape": ["batch", 64], "dtype": "float32", "range": [-1, 1]}],
    "batch_sizes": [1],
    "precisions": ["fp32", "int8"],
    "measure": {"warmup": 1, "warmup_s": 0, "min_iterations": 5, "min_seconds": 0.05, "max_seconds": 0.5},
}


@pytest.fixture(scope="session")
def farm_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(workloads dir, build dir): built once per session."""
    from harness.builds.builder import build
    from harness.config.loader import load_workload

    root = tmp_path_factory.mktemp("farm-build")
    wl = root / "workloads"
    tiny_mlp(wl / "tiny.onnx")
    (wl / "tiny.yaml").write_text(yaml.safe_dump(WORKLOAD, sort_keys=False))
    path = wl / "tiny.yaml"
    build_dir = build([(load_workload(path), path)], root / "builds", precisions=["fp32", "int8"])
    return wl, build_dir


def local_profile(tmp_path: Path, name: str, **labels: str) -> Path:
    """A local-transport device with its own workdir (a second 'device' on this host)."""
    data = {
        "name": name,
        "transport": {"kind": "local", "workdir": str(tmp_path / f"dev-{name}")},
        "runner": {"kind": "python", "interpreter": sys.executable},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "threads": {"intra_op": 1, "inter_op": 1},
        "labels": {"tier": "host", **labels},
    }
    path = tmp_path / "devices" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def unreachable_profile(tmp_path: Path, port: int) -> Path:
    data = {
        "name": "gone-board",
        "transport": {"kind": "ssh", "host": "127.0.0.1", "port": port, "user": "nobody",
                      "connect_timeout_s": 3.0, "trust_host_key": True},
        "backends": [{"name": "cpu", "provider": "CPUExecutionProvider"}],
        "labels": {"tier": "board"},
    }
    path = tmp_path / "devices" / "gone-board.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_farm(tmp_path: Path, build: tuple[Path, Path], devices: list[dict[str, Any]], **extra: Any) -> Path:
    wl, build_dir = build
    data: dict[str, Any] = {
        "name": "testfarm",
        "devices": devices,
        "build": {"folder": str(build_dir)},
        "workloads_dir": str(wl),
        "store": str(tmp_path / "store.db"),
        "publish_dir": str(tmp_path / "site"),
        "state_dir": str(tmp_path / "state"),
        "preflight": {"min_free_mb": 1},
        **extra,
    }
    path = tmp_path / "farm.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
