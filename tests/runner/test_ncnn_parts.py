"""ncnn's parts for the native runner without building them: the sdist's version date (the day pip
must see as today), the recorded sha256 refusing another download, and clear refusals."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.builds.runner import ncnn_parts
from harness.builds.runner.ncnn_parts import KNOWN_SHA256, fetch_ncnn, fetch_sdist, version_date
from harness.builds.runner.targets import target_spec
from harness.errors import HarnessError


@given(st.dates(min_value=datetime.date(2000, 1, 1), max_value=datetime.date(2099, 12, 31)))
def test_the_version_names_the_day_it_was_built(day: datetime.date) -> None:
    assert version_date(f"1.0.{day:%Y%m%d}") == day.isoformat()


@pytest.mark.parametrize("bad", ["1.0", "1.0.2026102", "1.0.20261020.1", "1.0.2026-10-20", "latest"])
def test_a_version_that_is_no_build_date_is_refused_by_name(bad: str) -> None:
    with pytest.raises(HarnessError, match=f"ncnn version '{bad}' is not 1.0.YYYYMMDD"):
        version_date(bad)


def test_a_cached_sdist_with_another_sha256_is_refused_and_removed(tmp_path: Path) -> None:
    version = next(iter(KNOWN_SHA256))
    fake = tmp_path / f"ncnn-{version}.tar.gz"
    fake.write_bytes(b"not ncnn")
    with pytest.raises(HarnessError, match=f"not the recorded {KNOWN_SHA256[version]}"):
        fetch_sdist(version, tmp_path)
    assert not fake.exists()  # the next build downloads it anew


def test_without_faketime_the_download_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ncnn_parts.shutil, "which", lambda name: None)
    with pytest.raises(HarnessError, match="needs faketime .*apt-get install faketime"):
        fetch_sdist("1.0.20261020", tmp_path)


def test_targets_without_a_glibc_toolchain_here_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match="linux-x86_64 and linux-aarch64, not android-arm64"):
        fetch_ncnn(target_spec("android-arm64"), "1.0.20261020", tmp_path)
    assert not list(tmp_path.iterdir())
