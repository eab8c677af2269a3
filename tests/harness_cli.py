"""`python -m harness` in subprocesses as a user runs it, kept to one test's tmp_path."""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(tmp_path: Path, local_workdir: str = "local", columns: int = 250) -> dict[str, str]:
    """This environment with the store, the builds and the local device's workdir under ``tmp_path``, and a
    terminal ``columns`` wide (tables are not cut)."""
    env = dict(os.environ)
    env.update(HARNESS_STORE=str(tmp_path / "store.db"), HARNESS_BUILDS=str(tmp_path / "builds"),
               HARNESS_LOCAL_WORKDIR=str(tmp_path / local_workdir), COLUMNS=str(columns))
    return env
