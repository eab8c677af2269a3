"""One rule for where builds, results and reports go: the harness home."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import locations
from harness.results.store import resolve_url


def test_everything_goes_under_the_folder_that_holds_devices_and_workloads(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HARNESS_HOME", "HARNESS_STORE", "HARNESS_BUILDS"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "devices").mkdir()
    (tmp_path / "workloads").mkdir()
    monkeypatch.chdir(tmp_path)
    assert locations.project_root() == tmp_path
    assert locations.builds_root() == tmp_path / "builds"
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'results' / 'harness.db'}"
    assert locations.run_report_dir("r1") == tmp_path / "reports" / "runs" / "r1"
    assert locations.site_dir() == tmp_path / "reports" / "site"
    elsewhere = tmp_path / "sub"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no devices/ + workloads/ here: the checkout is home, not the cwd
    assert locations.project_root() != elsewhere
    assert not locations.default_store().startswith(str(elsewhere))
    monkeypatch.setenv("HARNESS_HOME", str(tmp_path / "home"))
    assert locations.builds_root() == tmp_path / "home" / "builds"
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "b"))
    monkeypatch.setenv("HARNESS_STORE", str(tmp_path / "s.db"))
    assert locations.builds_root() == tmp_path / "b" and resolve_url(None) == f"sqlite:///{tmp_path / 's.db'}"
