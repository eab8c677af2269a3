"""Finding and running a converter that ships inside a wheel (by path, never its console script)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.runtimes.base import CannotMake

CONVERTER_TIMEOUT_S = 600


def package_dir(module: str) -> Path | None:
    """The folder of an installed package, without importing it (pnnx's __init__ imports torch)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


#: a converter's environment with no ``pip`` to find on PATH (MNN's tools install packages themselves)
NO_PIP_ENV = {**{k: v for k, v in os.environ.items() if k != "PATH"}, "PATH": "/nonexistent", "PIP_NO_INDEX": "1"}


def executable_in(module: str, name: str) -> Path | None:
    root = package_dir(module)
    if root is None:
        return None
    for path in sorted(root.rglob(name)):
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def run_tool(argv: Sequence[str], cwd: Path, what: str, env: Mapping[str, str] | None = None) -> str:
    """Run a converter; its failure raises RuntimeError with the output's tail (a converter failure)."""
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=CONVERTER_TIMEOUT_S,
                          env=dict(env) if env is not None else None)
    out = (proc.stdout + proc.stderr).strip()
    if proc.returncode != 0:
        raise RuntimeError(f"{what} exited {proc.returncode}: {out[-1500:]}")
    return out


def require(path: Path | None, what: str) -> Path:
    if path is None:
        raise CannotMake(what)
    return path
