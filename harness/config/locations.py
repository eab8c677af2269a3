"""Where files go: one rule for every command.

The harness home is the folder that holds ``devices/`` and ``workloads/``: ``$HARNESS_HOME``,
else the current directory when it has both, else the checkout this package runs from.
Builds, the results store and reports all go under it, unless an option or a variable says
otherwise (``--builds-root`` / ``$HARNESS_BUILDS``, ``--store`` / ``$HARNESS_STORE``,
``--report-dir`` / ``--out``). ``harness run`` prints where each went.
"""

from __future__ import annotations

import os
from pathlib import Path

STORE_FILE = Path("results") / "harness.db"


def project_root() -> Path:
    env = os.environ.get("HARNESS_HOME")
    if env:
        return Path(env)
    cwd = Path.cwd()
    if (cwd / "devices").is_dir() and (cwd / "workloads").is_dir():
        return cwd
    return Path(__file__).resolve().parents[2]


def builds_root() -> Path:
    return Path(os.environ.get("HARNESS_BUILDS") or project_root() / "builds")


def default_store() -> str:
    """The results store when no ``--store`` is given: $HARNESS_STORE, else results/harness.db at home."""
    return os.environ.get("HARNESS_STORE") or str(project_root() / STORE_FILE)


def reports_root() -> Path:
    return project_root() / "reports"


def run_report_dir(run_id: str) -> Path:
    return reports_root() / "runs" / run_id


def site_dir() -> Path:
    return reports_root() / "site"
