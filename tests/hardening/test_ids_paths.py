"""Ids and output paths are checked where they enter; nothing is removed outside its own root."""

from __future__ import annotations

import string
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.builds.manifest import Manifest, resolve_build
from harness.config.ids import MAX_ID_LEN, check_id, id_problem
from harness.config.outputs import inside, output_dir, output_file, remove_within
from harness.errors import HarnessError
from tests.hardening.conftest import write_workloads

PATHY = st.text(alphabet=string.ascii_letters + string.digits + "._-/\\~@{}:*?[] \n\t\x00+", max_size=40)


@settings(max_examples=3000, deadline=None)
@given(st.one_of(PATHY, st.text(max_size=200)))
def test_an_accepted_id_is_one_harmless_path_component(value: str) -> None:
    try:
        got = check_id(value, "--id")
    except HarnessError as exc:
        assert str(exc).startswith("--id ") and "not a valid id" in str(exc)  # says what was wrong, and where
        return
    assert got == value and 0 < len(value) <= MAX_ID_LEN
    root = Path("/srv/builds")
    assert (root / value).parent == root and ".." not in value and not value.startswith((".", "-"))
    assert "/" not in value and "\\" not in value and "\x00" not in value


@pytest.mark.parametrize("bad", ["", ".", "..", "../../x", "/etc", "a/b", "-rf", ".hidden", "a..b", "x.lock", "x.",
                                 "a b", "a\x00b"])
def test_ids_that_name_something_else_are_refused(bad: str) -> None:
    assert id_problem(bad) is not None
    with pytest.raises(HarnessError, match="not a valid id"):
        check_id(bad, "build id")


def test_an_ordinary_id_passes() -> None:
    for good in ("b-0123456789ab", "nightly-2026-01-02", "v1.2.3", "20261129-060534-df92", "release+rc1"):
        assert check_id(good, "x") == good


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rel=PATHY)
def test_remove_within_never_leaves_its_root(tmp_path: Path, rel: str) -> None:
    root = tmp_path / "root"
    (root / "keep").mkdir(parents=True, exist_ok=True)
    (tmp_path / "outside").mkdir(exist_ok=True)
    target = root / rel
    if "\x00" in rel:
        return
    try:
        remove_within(root, target)
    except HarnessError as exc:
        assert "not inside" in str(exc)
    except OSError:
        pass  # a name the file system refuses (too long): nothing removed either
    assert root.is_dir() and (tmp_path / "outside").is_dir()  # the root itself and anything beside it survive


def test_inside() -> None:
    assert inside("/a/b", "/a/b/c") and not inside("/a/b", "/a/b") and not inside("/a/b", "/a/b/../c")


def test_output_paths_that_cannot_be_written_are_clear_errors(tmp_path: Path) -> None:
    a_file = tmp_path / "f.txt"
    a_file.write_text("x")
    with pytest.raises(HarnessError, match="is a folder"):
        output_file(Path("/"), "--out")
    with pytest.raises(HarnessError, match="is a file"):
        output_dir(a_file, "--out")
    with pytest.raises(HarnessError, match="exists and is not a folder"):
        output_file(a_file / "x.json", "--json")
    assert output_file(tmp_path / "new" / "x.json", "--json").parent.is_dir()


def test_manifest_ids_and_artifact_paths_stay_inside_the_build(tmp_path: Path) -> None:
    base = {"build_id": "b-1", "created": "2026-01-01", "workloads": {}}
    with pytest.raises(ValueError, match="valid build id"):
        Manifest.model_validate({**base, "build_id": "../x"})
    art = {"path": "../../etc/passwd", "sha256": "0" * 64, "size": 1}
    entry = {"kind": "generic", "precisions": {"fp32": {"files": {"model": art}}}}
    with pytest.raises(ValueError, match="inside the build folder"):
        Manifest.model_validate({**base, "workloads": {"w": entry}})
    with pytest.raises(HarnessError, match="no build"):
        resolve_build("../..", tmp_path)  # an id that climbs is never looked up under the root


def _harness(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI in this process (its entry point, exit code and stderr as a user sees them)."""
    from harness.cli import main

    monkeypatch.setattr(sys, "argv", ["harness", *args])
    with pytest.raises(SystemExit) as exc:
        main()
        raise SystemExit(0)
    return int(exc.value.code or 0), " ".join(capsys.readouterr().err.split())


def test_cli_refuses_bad_ids_and_output_paths_with_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HARNESS_BUILDS", str(tmp_path / "builds"))
    wl = write_workloads(tmp_path / "workloads")
    builds = tmp_path / "builds"
    victim = tmp_path / "victim"
    (victim / "keep").mkdir(parents=True)
    (builds / "existing").mkdir(parents=True)
    for bad_id in ("../victim", ".", ""):
        rc, err = _harness(monkeypatch, capsys, "build", "--workloads-dir", str(wl), "--builds-root", str(builds),
                           "--id", bad_id)
        assert rc == 2 and "not a valid id" in err, err
    assert (victim / "keep").is_dir() and (builds / "existing").is_dir()  # nothing removed anywhere
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    cases = [
        (["export", "latest", "-o", "/"], "is a folder"),
        (["export", "../x"], "no run '../x'"),
        (["export", "[/]x"], "[/]x"),  # markup in an argument is echoed as text, not parsed
        (["publish", "--out", str(a_file)], "is a file"),
        (["compare", "a", "b", "--json", "/"], "is a folder"),
        (["run", "--resume", ""], "expected a run id"),
    ]
    for args, message in cases:
        rc, err = _harness(monkeypatch, capsys, *args)
        assert rc == 2 and message in err and "Traceback" not in err, (args, err)
