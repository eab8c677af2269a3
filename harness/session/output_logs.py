"""Where a run keeps its runners' output on the host: one folder per run, two files per cell.

``$HARNESS_LOGS/<run id>`` when set; else ``logs/<run id>`` beside a SQLite store (a test's or a
temporary store keeps its logs with it); else ``results/logs/<run id>`` at the harness home (a
PostgreSQL store). Each cell's runner writes ``<cell>.stdout.log`` and ``<cell>.stderr.log`` there,
capped (harness.transport.capture), so a run's logs are bounded by its cell count.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import make_url

from harness.config.locations import project_root
from harness.transport.base import ExecResult
from harness.transport.capture import OutputFiles


def run_logs_dir(store_url: str, run_id: str) -> Path:
    env = os.environ.get("HARNESS_LOGS")
    if env:
        return Path(env).expanduser() / _safe(run_id)
    url = make_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database.removeprefix("file:").split("?")[0]).parent / "logs" / _safe(run_id)
    return project_root() / "results" / "logs" / _safe(run_id)


def cell_output(folder: Path | None, cell_key: str) -> OutputFiles | None:
    """The files of one cell's runner in the run's folder (None: the run keeps none)."""
    return None if folder is None else OutputFiles.in_folder(folder, _safe(cell_key))


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)[:150] or "_"


def output_context(res: ExecResult) -> dict[str, Any]:
    """Where the runner's capped output was kept on the host, for the cell's result."""
    return {"runner_output": {"stdout": str(res.files.stdout), "stderr": str(res.files.stderr)}} if res.files else {}


def where_output(res: ExecResult) -> str:
    """For a failure message that shows only the output's tail: where the rest is."""
    return f" ({res.files.describe()})" if res.files else ""
