"""Shared fixtures. Rig fixtures (sshd, adbd, chromium, postgres) live in tests/rigs/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Rigs are registered once here so each starts once per test session, not once per folder:
# sshd + adbd (+ the real adb server), PostgreSQL, headless Chromium.
pytest_plugins = ["tests.rigs.fixtures", "tests.rigs.postgres", "tests.rigs.browser", "tests.lab"]


@pytest.fixture(autouse=True)
def _isolated_harness_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test's local-device workdir and default store out of $HOME and the repo."""
    monkeypatch.setenv("HARNESS_LOCAL_WORKDIR", str(tmp_path / "local-device"))
    # this host's lock is host-wide by default (harness.transport.physical): each test holds its own
    monkeypatch.setenv("HARNESS_LOCAL_LOCK", str(tmp_path / "local-device" / "lock"))
    monkeypatch.setenv("HARNESS_HOST_LOCKS", str(tmp_path / "host-locks"))  # remote devices' host-side locks
    monkeypatch.setenv("HARNESS_LOGS", str(tmp_path / "runner-logs"))  # a PostgreSQL store's would be at home
    if "HARNESS_STORE" not in os.environ:
        monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "store.db"))
